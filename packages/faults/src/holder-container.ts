import { GauntletError } from '@gauntlet/contracts'
import type Docker from 'dockerode'
import { PassThrough } from 'node:stream'
import { createInterface } from 'node:readline'
import type { HolderEvent } from './holder-program.js'

/** Labels every holder carries; the reconcile finds holders by them (the engine is the source of truth). */
export const holderLabels = {
  fault: 'gauntlet.fault',
  run: 'gauntlet.run',
  until: 'gauntlet.until',
  owner: 'gauntlet.owner',
  target: 'gauntlet.target',
  /** What it runs: hold, clean or probe. */
  role: 'gauntlet.role',
} as const

export type HolderRole = 'hold' | 'clean' | 'probe'

/**
 * A holder's container: the Gauntlet image as root (tc and iptables need uid 0 in the namespace) with
 * every capability dropped but NET_ADMIN, in its target's network namespace (or a fresh one of its own,
 * for the probe), without the host's pid namespace or any mount, removed by the engine once it exits.
 */
export function holderCreateOptions(args: {
  image: string
  /** The target container's id; undefined: a fresh namespace (network mode none). */
  target: string | undefined
  cmd: string[]
  labels: Record<string, string>
  /** A warm holder: its plan comes on stdin (closed when our attachment ends). */
  stdin?: boolean
}): Docker.ContainerCreateOptions {
  return {
    Image: args.image,
    Cmd: args.cmd,
    User: '0',
    Labels: args.labels,
    AttachStdout: true,
    AttachStderr: true,
    ...(args.stdin ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
    HostConfig: {
      NetworkMode: args.target ? `container:${args.target}` : 'none',
      CapDrop: ['ALL'],
      CapAdd: ['NET_ADMIN'],
      AutoRemove: true,
      // A holder is node, tc and iptables: bounded, so a runaway one cannot starve the host or escalate.
      PidsLimit: 64,
      Memory: 256 * 1024 * 1024,
      SecurityOpt: ['no-new-privileges'],
    },
  }
}

/** A started holder: its NDJSON events, its stderr, its exit. */
export interface HolderHandle {
  id: string
  container: Docker.Container
  events: HolderEvent[]
  /** Non-JSON stdout lines and stderr (the CLI's own error messages). */
  output(): string
  /** Resolves with the first event matching, or undefined once the holder exited (or `timeoutMs` passed). */
  next(match: (e: HolderEvent) => boolean, timeoutMs: number): Promise<HolderEvent | undefined>
  /** Called for every event as it arrives. */
  onEvent(listener: (e: HolderEvent) => void): void
  /** The exit code (undefined while it runs). */
  exitCode(): number | undefined
  exited: Promise<number>
  signal(signal: 'SIGTERM' | 'SIGUSR1' | 'SIGKILL'): Promise<void>
  /** Lets go of the output stream (so this process can exit while the holder runs on). */
  detach(): void
  /** A warm holder: sends its plan (one line on its stdin). */
  send(line: string): void
}

/** Creates and starts a holder, attached to its output before it starts (nothing it prints is missed). */
export async function startHolder(docker: Docker, options: Docker.ContainerCreateOptions): Promise<HolderHandle> {
  const container = await docker.createContainer(options)
  const abort = new AbortController()
  const stdin = options.OpenStdin === true
  const stream = await container.attach({
    stream: true,
    stdout: true,
    stderr: true,
    abortSignal: abort.signal,
    ...(stdin ? { stdin: true, hijack: true } : {}),
  })
  // 'next-exit' asked before start: with AutoRemove the container may be gone before a later wait.
  const waited = container.wait({ condition: 'next-exit', abortSignal: abort.signal }) as Promise<{
    StatusCode: number
  }>
  const handle = attachHandle(docker, container, stream, waited, abort)
  try {
    await container.start()
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined)
    handle.detach()
    throw new GauntletError('fault_failed', `could not start a holder container: ${(error as Error).message}`)
  }
  return handle
}

/** Attaches to a holder that already runs (one another process started): events from now on. */
export async function attachToHolder(docker: Docker, id: string): Promise<HolderHandle> {
  const container = docker.getContainer(id)
  const abort = new AbortController()
  const stream = await container.attach({ stream: true, stdout: true, stderr: true, abortSignal: abort.signal })
  const waited = container.wait({ abortSignal: abort.signal }) as Promise<{ StatusCode: number }>
  return attachHandle(docker, container, stream, waited, abort)
}

function attachHandle(
  docker: Docker,
  container: Docker.Container,
  stream: NodeJS.ReadWriteStream,
  waited: Promise<{ StatusCode: number }>,
  abort: AbortController,
): HolderHandle {
  const events: HolderEvent[] = []
  const listeners: Array<(e: HolderEvent) => void> = []
  let text = ''
  let code: number | undefined
  let detached = false
  const wake = new Set<() => void>()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  docker.modem.demuxStream(stream, stdout, stderr)
  stream.on('end', () => {
    stdout.end()
    stderr.end()
  })
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  createInterface({ input: stdout }).on('line', (line) => {
    let event: HolderEvent | undefined
    try {
      const parsed = JSON.parse(line) as HolderEvent
      if (typeof parsed?.event === 'string') event = parsed
    } catch {
      // not an event
    }
    if (!event) {
      text += `${line}\n`
      return
    }
    events.push(event)
    for (const listener of listeners) listener(event)
    for (const w of wake) w()
  })
  const exited = waited.then(
    (r) => r.StatusCode,
    // The container vanished (docker rm -f, engine restart) without a wait answer: no exit code.
    () => -1,
  )
  void exited.then((c) => {
    if (detached) return
    code = c
    // Output still in flight arrives a moment after the exit; give it that moment before waiters give up.
    setTimeout(() => {
      for (const w of wake) w()
    }, 100).unref()
  })
  return {
    id: container.id,
    container,
    events,
    output: () => text.trim(),
    onEvent: (listener) => listeners.push(listener),
    exitCode: () => code,
    exited,
    next(match, timeoutMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          wake.delete(check)
          resolve(events.find(match))
        }, timeoutMs)
        const check = (): void => {
          const found = events.find(match)
          if (found || code !== undefined) {
            wake.delete(check)
            clearTimeout(timer)
            resolve(found)
          }
        }
        wake.add(check)
        // An exit already seen still gets its last output's moment.
        if (events.find(match)) check()
        else if (code !== undefined) setTimeout(check, 100)
      })
    },
    async signal(signal) {
      await container.kill({ signal }).catch((error: { statusCode?: number }) => {
        // 404/409: gone or no longer running; that is what we wanted.
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error
      })
    },
    send(line) {
      stream.write(`${line}\n`)
    },
    detach() {
      detached = true
      abort.abort()
      const response = stream as unknown as { destroy?: () => void; socket?: { destroy(): void } }
      response.socket?.destroy()
      response.destroy?.()
    },
  }
}
