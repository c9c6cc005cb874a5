import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { afterEach, describe, expect, it } from 'vitest'
import {
  startLatencyProxy,
  type LatencyProxy,
  type LatencyProxyOptions,
} from '../../packages/faults/src/latency-proxy.js'
import { followLines, startChildServer, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { openModelLatenciesMs, percentile } from '../helpers/open-model-client.js'

const proxyMain = new URL('../../packages/faults/dist/latency-proxy-main.js', import.meta.url).pathname
const fixedLatencyServer = new URL('../helpers/fixed-latency-server.mjs', import.meta.url).pathname

/** Things to stop after each test, newest first. */
let cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  cleanups = []
})

interface Upstream {
  port: number
  /** The next connection the server accepted (already accepted, or still to come). */
  accepted(): Promise<net.Socket>
}

/** A TCP server on 127.0.0.1:0 whose connections the test awaits; closed after the test with them. */
async function upstreamServer(options: net.ServerOpts = {}): Promise<Upstream> {
  const open = new Set<net.Socket>()
  const queued: net.Socket[] = []
  const waiting: Array<(socket: net.Socket) => void> = []
  const server = net.createServer(options, (socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    socket.on('error', () => {})
    const waiter = waiting.shift()
    if (waiter) waiter(socket)
    else queued.push(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => {
    for (const socket of open) socket.destroy()
    return new Promise((resolve) => server.close(resolve))
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => {
      const socket = queued.shift()
      return socket ? Promise.resolve(socket) : new Promise((resolve) => waiting.push(resolve))
    },
  }
}

/** A port nothing listens on: bound to find it, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function proxyTo(upstreamPort: number, options: Partial<LatencyProxyOptions> = {}): Promise<LatencyProxy> {
  const proxy = await startLatencyProxy({
    listenHost: '127.0.0.1',
    listenPort: 0,
    upstreamHost: '127.0.0.1',
    upstreamPort,
    latencyMs: 0,
    jitterMs: 0,
    ...options,
  })
  cleanups.push(() => proxy.close())
  return proxy
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port })
  cleanups.push(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

/** Resolves when the socket has closed, with the error it closed on, if any. */
function closed(socket: net.Socket): Promise<NodeJS.ErrnoException | undefined> {
  let error: NodeJS.ErrnoException | undefined
  socket.on('error', (err) => (error = err))
  return new Promise((resolve) => socket.once('close', () => resolve(error)))
}

/** Everything a socket reads until its end. */
async function readAll(socket: net.Socket): Promise<string> {
  let text = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  await once(socket, 'end')
  return text
}

describe('latency proxy: p50 shift (proxy process in front of a ~0 ms HTTP target, 50 rps for 3 s)', () => {
  let target: ChildServer | undefined
  afterEach(async () => {
    await target?.stop()
    target = undefined
  })

  it.each([50, 100, 200])('shifts p50 by %i ms, within 10 percent', async (latencyMs) => {
    target = await startChildServer(process.execPath, [fixedLatencyServer, '0'])
    const proxy = await startChildServer(process.execPath, [
      proxyMain,
      ...['--listen-host', '127.0.0.1', '--upstream-host', '127.0.0.1', '--upstream-port', new URL(target.url).port],
      ...['--latency-ms', String(latencyMs), '--until', String(Date.now() + 60_000)],
    ])
    cleanups.push(() => proxy.stop())

    const direct = percentile(await openModelLatenciesMs(`${target.url}/`, 50, 3), 50)
    const proxied = percentile(await openModelLatenciesMs(`http://${proxy.url}/`, 50, 3), 50)
    const shift = proxied - direct
    console.log(
      `proxy latency ${latencyMs} ms: p50 direct ${direct.toFixed(2)} ms, through the ` +
        `proxy ${proxied.toFixed(2)} ms, ` +
        `shift ${shift.toFixed(2)} ms (${(((shift - latencyMs) / latencyMs) * 100).toFixed(1)}% off)`,
    )
    expect(Math.abs(shift - latencyMs)).toBeLessThanOrEqual(latencyMs * 0.1)

    proxy.process.kill('SIGTERM')
    const [code] = (await once(proxy.process, 'exit')) as [number | null]
    expect(code).toBe(0)
  })
})

describe('latency proxy: streams (in process)', () => {
  it('keeps byte order when the jitter exceeds the latency', async () => {
    const upstream = await upstreamServer()
    // Alternately the longest and the shortest delay of 20 ± 30 ms (clamped at 0): without the
    // ordering rule every second chunk would overtake the one before it.
    let draws = 0
    const proxy = await proxyTo(upstream.port, {
      latencyMs: 20,
      jitterMs: 30,
      random: () => (draws++ % 2 === 0 ? 0.999 : 0),
    })

    const client = await connect(proxy.port)
    client.setNoDelay(true)
    const received = upstream.accepted().then(readAll)
    const lines: string[] = []
    for (let batch = 0; batch < 100; batch++) {
      let text = ''
      for (let i = 0; i < 10; i++) {
        lines.push(`line ${batch * 10 + i}`)
        text += `${lines.at(-1)}\n`
      }
      client.write(text)
      // A macrotask between writes, so the proxy reads many chunks, each with its own delay.
      await new Promise((resolve) => setImmediate(resolve))
    }
    client.end()

    expect((await received).split('\n')).toEqual([...lines, ''])
    expect(draws).toBeGreaterThan(10)
    expect(proxy.stats()).toEqual({ connections: 1, bytesDelayed: lines.join('\n').length + 1 })
  })

  it('passes the client end to upstream after the delayed data, and still delivers the reply', async () => {
    const upstream = await upstreamServer({ allowHalfOpen: true })
    const proxy = await proxyTo(upstream.port, { latencyMs: 30 })
    const client = await connect(proxy.port)
    const started = performance.now()
    client.end('hello')
    const server = await upstream.accepted()
    const text = await readAll(server)
    // The end arrived; the upstream can still answer on its half of the connection.
    server.end(`upstream read ${JSON.stringify(text)} before the end`)
    expect(await readAll(client)).toBe('upstream read "hello" before the end')
    // Data and end left the proxy no sooner than the latency (a timer may fire 1 ms early).
    expect(performance.now() - started).toBeGreaterThanOrEqual(29)
  })

  it('closes the client connection when upstream refuses', async () => {
    const proxy = await proxyTo(await closedPort(), { latencyMs: 10 })
    const client = await connect(proxy.port)
    expect((await closed(client.resume()))?.code).toBe('ECONNRESET')
    expect(proxy.stats().connections).toBe(1)
  })

  it('resets the client when upstream resets, and upstream when the client resets', async () => {
    const upstream = await upstreamServer()
    const proxy = await proxyTo(upstream.port, { latencyMs: 10 })

    const first = await connect(proxy.port)
    const firstClosed = closed(first.resume())
    first.write('x')
    const firstUpstream = await upstream.accepted()
    await once(firstUpstream, 'data')
    firstUpstream.resetAndDestroy()
    expect((await firstClosed)?.code).toBe('ECONNRESET')

    const second = await connect(proxy.port)
    const secondUpstreamClosed = closed((await upstream.accepted()).resume())
    second.resetAndDestroy()
    expect((await secondUpstreamClosed)?.code).toBe('ECONNRESET')
  })

  it(`drain: during its grace the proxy ends nothing, so a client that sends on its idle keep-alive connection is \
served and then closes it itself`, async () => {
    const upstream = await upstreamServer()
    const proxy = await proxyTo(upstream.port)
    const client = await connect(proxy.port)
    const server = await upstream.accepted()
    // An idle connection: with idleMs 0, anything not carrying a request counts as between requests.
    const drained = proxy.drain(0, 5_000, 1_000)
    client.write('second request')
    const [data] = (await once(server, 'data')) as [Buffer]
    expect(String(data)).toBe('second request')
    server.write('answer')
    const [reply] = (await once(client, 'data')) as [Buffer]
    expect(String(reply)).toBe('answer')
    // The client moves away by closing its side: the drain is done without the proxy ending anything.
    const serverEnded = once(server, 'end')
    client.end()
    await serverEnded
    server.end()
    await drained
  })

  it('drain: a client that does not close is ended between requests once the grace is over', async () => {
    const upstream = await upstreamServer()
    const proxy = await proxyTo(upstream.port)
    const client = await connect(proxy.port)
    await upstream.accepted()
    const clientEnded = once(client.resume(), 'end')
    const started = performance.now()
    await proxy.drain(0, 5_000, 300)
    await clientEnded
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
  })

  it('close() stops listening and ends open connections', async () => {
    const upstream = await upstreamServer()
    const proxy = await proxyTo(upstream.port, { latencyMs: 10 })
    const client = await connect(proxy.port)
    const clientClosed = closed(client.resume())
    const upstreamClosed = closed((await upstream.accepted()).resume())
    await proxy.close()
    await clientClosed
    await upstreamClosed
    expect((await closed(net.connect({ host: '127.0.0.1', port: proxy.port })))?.code).toBe('ECONNREFUSED')
  })
})

interface ProxyProcess {
  child: ChildProcess
  /** stdout lines so far. */
  lines: string[]
  stderr(): string
  /** Resolves with the first stdout line (already printed or still to come) that matches. */
  waitForLine(pattern: RegExp): Promise<string>
  /** Exit code, once the process has exited and its output is read. */
  exited: Promise<number | null>
}

function spawnProxy(args: string[]): ProxyProcess {
  const child = spawn(process.execPath, [proxyMain, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const { lines, waitForLine } = followLines(
    child.stdout,
    exited,
    (code, pattern) =>
      new Error(
        `proxy exited with ${code} before printing ${pattern}; stdout ${JSON.stringify(lines)}, stderr ${stderr}`,
      ),
  )
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine,
  }
}

const node = process.execPath
/** A cleanup command that appends a line to `file`, so a test can count how often cleanup ran. */
const appendTo = (file: string): string[] => [
  node,
  '-e',
  "require('fs').appendFileSync(process.argv[1], 'ran\\n')",
  file,
]
/** Like appendTo, then blocks until `release` exists (at most 5 s): a cleanup still in progress. */
const appendThenAwait = (file: string, release: string): string[] => [
  node,
  '-e',
  "const fs = require('fs'); fs.appendFileSync(process.argv[1], 'ran\\n'); for (let i = 0; i < 200 && " +
    '!fs.existsSync(process.argv[2]); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25)',
  file,
  release,
]
const fails = [node, '-e', 'process.exit(3)']

describe("latency proxy process: the dead man's switch", () => {
  async function flags(cleanup: string[][], untilMs: number): Promise<string[]> {
    return [
      ...[
        '--listen-host',
        '127.0.0.1',
        '--upstream-host',
        '127.0.0.1',
        '--upstream-port',
        String(await closedPort()),
        '--latency-ms',
        '10',
      ],
      ...['--until', String(untilMs), '--cleanup', JSON.stringify(cleanup)],
    ]
  }

  it('ends by itself at --until, runs the cleanup and exits 0', async () => {
    const marker = join(tempDir(), 'marker')
    const untilMs = Date.now() + 1500
    const proxy = spawnProxy(await flags([appendTo(marker)], untilMs))
    expect(await proxy.waitForLine(/^listening/)).toMatch(/^listening 127\.0\.0\.1:\d+$/)
    expect(existsSync(marker)).toBe(false)

    expect(await proxy.exited).toBe(0)
    expect(Date.now()).toBeGreaterThanOrEqual(untilMs)
    expect(readFileSync(marker, 'utf8')).toBe('ran\n')
    expect(proxy.lines.slice(1)).toEqual([
      'stopping: until reached',
      `cleanup exit 0: ${JSON.stringify(appendTo(marker))}`,
    ])
  })

  it('on SIGTERM runs the cleanup exactly once, even when signalled again during it', async () => {
    const dir = tempDir()
    const marker = join(dir, 'marker')
    const release = join(dir, 'release')
    const proxy = spawnProxy(await flags([appendThenAwait(marker, release), appendTo(marker)], Date.now() + 30_000))
    await proxy.waitForLine(/^listening/)

    proxy.child.kill('SIGTERM')
    await proxy.waitForLine(/^stopping: SIGTERM$/)
    proxy.child.kill('SIGTERM')
    await proxy.waitForLine(/ignoring SIGTERM$/)
    proxy.child.kill('SIGINT')
    await proxy.waitForLine(/ignoring SIGINT$/)
    writeFileSync(release, '')

    expect(await proxy.exited).toBe(0)
    // Two commands, each run once.
    expect(readFileSync(marker, 'utf8')).toBe('ran\nran\n')
  })

  it('exits 1 when a cleanup command fails, after running the ones after it', async () => {
    const marker = join(tempDir(), 'marker')
    const proxy = spawnProxy(await flags([fails, appendTo(marker)], Date.now() + 30_000))
    await proxy.waitForLine(/^listening/)
    proxy.child.kill('SIGTERM')

    expect(await proxy.exited).toBe(1)
    expect(proxy.lines).toContain(`cleanup exit 3: ${JSON.stringify(fails)}`)
    expect(readFileSync(marker, 'utf8')).toBe('ran\n')
  })

  it('still cleans up at --until when whoever started it is gone (its pipes closed)', async () => {
    const marker = join(tempDir(), 'marker')
    const proxy = spawnProxy(await flags([appendTo(marker)], Date.now() + 1500))
    await proxy.waitForLine(/^listening/)
    // What an agent killed with -9 leaves behind: every later write of the proxy fails with EPIPE.
    proxy.child.stdout!.destroy()
    proxy.child.stderr!.destroy()

    expect(await proxy.exited).toBe(0)
    expect(readFileSync(marker, 'utf8')).toBe('ran\n')
  })

  it.each([
    [
      '--until',
      ['--upstream-host', '127.0.0.1', '--upstream-port', '80', '--latency-ms', '10'],
      /^latency-proxy: --until is required$/m,
    ],
    [
      '--until',
      ['--upstream-host', '127.0.0.1', '--upstream-port', '80', '--latency-ms', '10', '--until', '1000'],
      /--until 1000 is in the past/,
    ],
    [
      '--latency-ms',
      ['--upstream-host', '127.0.0.1', '--upstream-port', '80', '--latency-ms', 'abc', '--until', '9999999999999'],
      /--latency-ms must be a number/,
    ],
    [
      '--upstream-port',
      ['--upstream-host', '127.0.0.1', '--upstream-port', '70000', '--latency-ms', '1', '--until', '9999999999999'],
      /--upstream-port must be an integer in 1\.\.65535/,
    ],
    [
      '--cleanup',
      [
        '--upstream-host',
        'h',
        '--upstream-port',
        '80',
        '--latency-ms',
        '1',
        '--until',
        '9999999999999',
        '--cleanup',
        'iptables -D',
      ],
      /--cleanup must be a JSON array/,
    ],
    [
      '--cleanup',
      [
        '--upstream-host',
        'h',
        '--upstream-port',
        '80',
        '--latency-ms',
        '1',
        '--until',
        '9999999999999',
        '--cleanup',
        '[[]]',
      ],
      /--cleanup must be a JSON array/,
    ],
    ['--bogus', ['--bogus', '1'], /--bogus/],
  ])('exits 2 naming %s when flags are bad', async (_flag, args, message) => {
    const proxy = spawnProxy(args)
    expect(await proxy.exited).toBe(2)
    expect(proxy.lines).toEqual([])
    expect(proxy.stderr()).toMatch(message)
    for (const line of proxy.stderr().trim().split('\n'))
      expect(line).toMatch(/^latency-proxy: --?\w|^latency-proxy: (Unknown|Option)/)
  })
})
