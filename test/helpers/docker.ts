import Docker from 'dockerode'
import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { tempDir as makeTempDir } from './cli.js'
import { engineAddress } from '../../packages/faults/src/docker-targets.js'

/**
 * Real-engine helpers for test/docker: whether an engine answers (skip loudly locally, fail in CI),
 * a busybox image made without a registry, and httpd containers that are ready when returned.
 */

/** Every container (and the image) these helpers create carries this label. */
export const testLabel = 'gauntlet-test'
/** Which test process made a container, so one file's cleanup leaves another run's containers alone. */
const ownerLabel = 'gauntlet-test.owner'
const owner = `${hostname()}:${process.pid}`

export const busyboxImage = 'gauntlet-test/busybox:1'
const busyboxPath = '/bin/busybox'
const applets = ['sh', 'httpd', 'sleep', 'cat', 'nc', 'ls', 'wget']
export const bigFileBytes = 1024 * 1024

let client: Docker | undefined
/** dockerode with its defaults, which honour DOCKER_HOST. */
export function dockerClient(): Docker {
  return (client ??= new Docker())
}

/** The labels a container made outside startHttpdContainer needs so that removeTestContainers finds it. */
export function testLabels(extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, [testLabel]: '1', [ownerLabel]: owner }
}

export async function dockerAvailable(timeoutMs = 2_000): Promise<boolean> {
  try {
    // dockerode's typings omit ping's options; the call accepts { abortSignal }.
    const docker = dockerClient()
    const ping = docker.ping.bind(docker) as (opts: { abortSignal: AbortSignal }) => Promise<unknown>
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) })
    return true
  } catch {
    return false
  }
}

export interface DockerGate {
  /** Whether the engine answered a ping when the file loaded. */
  available: boolean
  /**
   * A `describe` for suites that need the engine. No engine and no CI: skipped, after a loud banner.
   * No engine under CI (.ci/run sets CI=true): the suite holds one test that fails and says why, so a CI
   * machine that lost its engine can neither pass by skipping nor drown the cause in connection errors.
   */
  describe(name: string, body: () => void): void
}

/** Decides, once per test file (top-level `await dockerGate()`), whether its Docker suites run. */
export async function dockerGate(): Promise<DockerGate> {
  const available = await dockerAvailable()
  const where = engineAddress(dockerClient())
  const ci = Boolean(process.env.CI)
  if (!available && !ci) {
    const line = '='.repeat(78)
    console.warn(
      `\n${line}\nDOCKER TESTS SKIPPED: no Docker engine answers at ${where}\n` +
        `(start dockerd, or run .ci/run; with CI set these tests fail instead)\n${line}\n`,
    )
  }
  return {
    available,
    describe(name, body) {
      describe.skipIf(!available && !ci)(name, () => {
        // Skipped suites still collect their tests, so the skip count shows what did not run.
        if (available || !ci) return body()
        it('has a Docker engine to run on', () => {
          throw new Error(
            `Docker tests need a Docker engine but none answers at ${where} (CI is set, so they fail instead of ` +
              `skipping; .ci/run installs docker.io and starts dockerd)`,
          )
        })
      })
    },
  }
}

let image: Promise<string> | undefined
/**
 * The busybox test image, imported once from a tarred rootfs (no registry needed). Idempotent: an
 * existing image is reused; two processes importing at once both end with the same tag on equal content.
 */
export function ensureBusyboxImage(): Promise<string> {
  image ??= importBusyboxImage().catch((error: unknown) => {
    image = undefined
    throw error
  })
  return image
}

async function importBusyboxImage(): Promise<string> {
  const docker = dockerClient()
  try {
    await docker.getImage(busyboxImage).inspect()
    return busyboxImage
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error
  }
  await checkStaticBusybox()
  const root = await mkdtemp(join(tmpdir(), 'gauntlet-rootfs-'))
  try {
    await mkdir(join(root, 'bin'))
    await copyFile(busyboxPath, join(root, 'bin/busybox'))
    await chmod(join(root, 'bin/busybox'), 0o755)
    for (const applet of applets) await symlink('busybox', join(root, 'bin', applet))
    for (const dir of ['www', 'tmp', 'etc', 'proc', 'sys', 'dev']) await mkdir(join(root, dir), { recursive: true })
    await chmod(join(root, 'tmp'), 0o1777)
    await writeFile(join(root, 'www/index.html'), '<!doctype html><title>gauntlet test</title>gauntlet test httpd\n')
    await writeFile(join(root, 'www/big.bin'), incompressible(bigFileBytes))

    const tar = spawn('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let tarErr = ''
    tar.stderr.on('data', (chunk) => (tarErr += chunk))
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.on('error', reject)
      tar.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`tar of the test rootfs exited with ${code}: ${tarErr}`)),
      )
    })
    const [repo, tag] = busyboxImage.split(':') as [string, string]
    const progress = await docker.importImage(tar.stdout, { repo, tag, changes: [`LABEL ${testLabel}=1`] })
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(progress, (error) => (error ? reject(error) : resolve())),
    )
    await tarDone
    return busyboxImage
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** A dynamically linked busybox would not run in an image that has no libc: read its ELF program headers. */
async function checkStaticBusybox(): Promise<void> {
  const advice = 'install busybox-static (apt-get install -y busybox-static) to build the Docker test image'
  let file
  try {
    file = await open(busyboxPath)
  } catch (error) {
    throw new Error(`${busyboxPath} is missing (${(error as NodeJS.ErrnoException).code}): ${advice}`)
  }
  try {
    const elf = Buffer.alloc(64)
    await file.read(elf, 0, 64, 0)
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2)
      throw new Error(`${busyboxPath} is not a 64-bit ELF executable: ${advice}`)
    const phoff = Number(elf.readBigUInt64LE(0x20))
    const phentsize = elf.readUInt16LE(0x36)
    const phnum = elf.readUInt16LE(0x38)
    const headers = Buffer.alloc(phentsize * phnum)
    await file.read(headers, 0, headers.length, phoff)
    for (let i = 0; i < phnum; i++) {
      // PT_INTERP: the binary needs a dynamic loader.
      if (headers.readUInt32LE(i * phentsize) === 3) throw new Error(`${busyboxPath} is dynamically linked: ${advice}`)
    }
  } finally {
    await file.close()
  }
}

/** Deterministic bytes that no link-level compression could shrink (so bandwidth tests measure bytes). */
function incompressible(bytes: number): Buffer {
  const out = Buffer.alloc(bytes)
  for (let offset = 0, i = 0; offset < bytes; offset += 32, i++) {
    createHash('sha256').update(`gauntlet-${i}`).digest().copy(out, offset)
  }
  return out
}

export interface HttpdContainer {
  id: string
  name: string
  /** Address on the default bridge; updated by restart(). */
  ip: string
  /** Host PID of httpd (the container's init); updated by restart(). */
  pid: number
  /** http://ip:port; updated by restart(). */
  url: string
  /** Removes the container (force); fine if it is gone already. */
  stop(): Promise<void>
  /** Restarts it and waits until it answers again. */
  restart(): Promise<void>
}

/** busybox httpd serving /www (index.html, big.bin) on the default bridge, answering when returned. */
export async function startHttpdContainer(
  opts: { name?: string; labels?: Record<string, string>; port?: number } = {},
): Promise<HttpdContainer> {
  const docker = dockerClient()
  const port = opts.port ?? 8080
  const name = opts.name ?? `gauntlet-test-${randomUUID().slice(0, 8)}`
  const container = await docker.createContainer({
    name,
    Image: await ensureBusyboxImage(),
    Cmd: ['/bin/httpd', '-f', '-p', String(port), '-h', '/www'],
    Labels: testLabels(opts.labels),
    HostConfig: { NetworkMode: 'bridge' },
  })
  const handle: HttpdContainer = {
    id: container.id,
    name,
    ip: '',
    pid: 0,
    url: '',
    async stop() {
      await container.remove({ force: true }).catch((error: { statusCode?: number }) => {
        // 404: gone already; 409: its removal is already under way.
        if (error.statusCode !== 404 && error.statusCode !== 409) throw error
      })
    },
    async restart() {
      await container.restart({ t: 0 })
      await settle()
    },
  }
  const settle = async () => {
    const info = await container.inspect()
    handle.ip =
      info.NetworkSettings.Networks['bridge']?.IPAddress ||
      (info.NetworkSettings as { IPAddress?: string }).IPAddress ||
      ''
    handle.pid = info.State.Pid
    handle.url = `http://${handle.ip}:${port}`
    if (!info.State.Running || handle.ip === '')
      throw new Error(`container ${name} is ${info.State.Status} with address "${handle.ip}"`)
    await waitForHttp(
      handle.url,
      async () => `container ${name}: ${(await container.inspect()).State.Status}; logs: ${await logsOf(container)}`,
    )
  }
  try {
    await container.start()
    await settle()
    return handle
  } catch (error) {
    await handle.stop().catch(() => {})
    throw error
  }
}

/** Readiness: bounded polling until the URL answers an HTTP GET. */
async function waitForHttp(url: string, describe: () => Promise<string>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      await response.arrayBuffer()
      return
    } catch (error) {
      last = error
      await delay(50)
    }
  }
  throw new Error(
    `${url} did not answer within ${timeoutMs} ms (${(last as Error | undefined)?.message}); ${await describe()}`,
  )
}

async function logsOf(container: Docker.Container): Promise<string> {
  try {
    return (await container.logs({ stdout: true, stderr: true, tail: 20 })).toString('utf8').trim() || '(none)'
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`
  }
}

/**
 * For afterAll: removes every gauntlet-test=1 container this process made, and those left by test
 * processes on this host that no longer exist (a crashed run). Other live runs' containers stay.
 */
export async function removeTestContainers(): Promise<void> {
  const docker = dockerClient()
  const containers = await docker.listContainers({ all: true, filters: { label: [`${testLabel}=1`] } })
  const ours = containers.filter((c) => {
    const made = c.Labels[ownerLabel]
    if (made === undefined || made === owner) return true
    const [host, pid] = made.split(':')
    return host === hostname() && !processAlive(Number(pid))
  })
  await Promise.all(
    ours.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error
        }),
    ),
  )
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * What every fault suite shares, registered inside its describe: the test image before its tests; its
 * containers and every directory made with the returned `tempDir` removed after them.
 */
export function faultSuite(): { tempDir: (prefix: string) => string } {
  const dirs: string[] = []
  beforeAll(async () => {
    await ensureBusyboxImage()
  }, 120_000)
  afterAll(async () => {
    await removeTestContainers()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  return {
    tempDir: (prefix) => {
      const dir = makeTempDir(prefix)
      dirs.push(dir)
      return dir
    },
  }
}
