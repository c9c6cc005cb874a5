import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { gauntletBin } from './cli.js'

export interface LineFollower {
  /** Every line so far. */
  lines: string[]
  /**
   * Resolves with the first line (already printed or still to come) that matches; rejects if `exited` settles
   * first.
   */
  waitForLine: (pattern: RegExp) => Promise<string>
}

/** Follows a process's output line by line, so a test awaits what it prints instead of sleeping. */
export function followLines(
  output: Readable,
  exited: Promise<number | null>,
  failure: (code: number | null, pattern: RegExp) => Error,
): LineFollower {
  const lines: string[] = []
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>()
  createInterface({ input: output }).on('line', (line) => {
    lines.push(line)
    for (const waiter of waiters) {
      if (waiter.pattern.test(line)) {
        waiters.delete(waiter)
        waiter.resolve(line)
      }
    }
  })
  return {
    lines,
    waitForLine: (pattern) => {
      const seen = lines.find((line) => pattern.test(line))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.add({ pattern, resolve })
        void exited.then((code) => reject(failure(code, pattern)))
      })
    },
  }
}

export interface ChildServer {
  url: string
  process: ChildProcess
  /** Resolves with the first stdout line (already printed or still to come) that matches. */
  waitForLine(pattern: RegExp): Promise<string>
  /** Every stdout line so far. */
  lines: string[]
  stop(): Promise<void>
}

/**
 * Starts a server in its own process (so its event loop is not ours) and resolves once it prints
 * `listening <url>`: readiness is awaited, never slept for.
 */
export async function startChildServer(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<ChildServer> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const { lines, waitForLine } = followLines(
    child.stdout,
    exited,
    (code, pattern) =>
      new Error(`${command} ${args.join(' ')} exited with ${code} before printing ${pattern}: ${stderr}`),
  )
  const url = /listening (\S+)/.exec(await waitForLine(/listening (\S+)/))![1]!
  return {
    url,
    process: child,
    waitForLine,
    lines,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await once(child, 'exit')
    },
  }
}

export const demoTargetBin = new URL('../../apps/demo-target/bin/demo-target.js', import.meta.url).pathname

export function startDemoTarget(...flags: string[]): Promise<ChildServer> {
  return startChildServer(process.execPath, [demoTargetBin, ...flags])
}

/** `gauntlet <args>` as a server process (controller or agent). */
export function startGauntlet(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  return startChildServer(process.execPath, [gauntletBin, ...args], { ...process.env, ...env })
}
