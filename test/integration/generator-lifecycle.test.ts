import type { WindowReport } from '@gauntlet/contracts'
import { LoadGenerator, runLoadInWorker } from '@gauntlet/agent'
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'

/** The generator always ends: on schedule, when aborted before or during the run, and with no socket left. */
describe('load generator lifecycle (real HTTP server)', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
    server = undefined
  })

  async function start(): Promise<number> {
    server = createServer((req, res) => {
      req.resume()
      res.end('ok')
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    return (server.address() as { port: number }).port
  }

  const plan = (port: number, durationS: number) => ({
    target: { protocol: 'http:' as const, hostname: '127.0.0.1', port, path: '/', method: 'GET', headers: {} },
    steps: [{ rps: 100, durationS, step: 0 }],
    timeoutMs: 2000,
    maxConnections: 100,
  })

  it('aborted before it starts: resolves at once, reports no window', async () => {
    const port = await start()
    const abort = new AbortController()
    abort.abort()
    const windows: WindowReport[] = []
    const result = await new LoadGenerator(plan(port, 5)).run({
      signal: abort.signal,
      onWindow: (w) => windows.push(w),
    })
    expect(result.aborted).toBe(true)
    expect(windows).toEqual([])
  })

  it(`aborted mid-run: flushes the windows that started, marks the unfinished one incomplete, \
closes every socket`, async () => {
    const port = await start()
    const sockets = new Set<Socket>()
    server!.on('connection', (s) => sockets.add(s))
    const abort = new AbortController()
    const windows: WindowReport[] = []
    const result = await new LoadGenerator(plan(port, 30)).run({
      signal: abort.signal,
      onWindow: (w) => {
        windows.push(w)
        if (w.index === 1) setImmediate(() => abort.abort())
      },
    })
    expect(result.aborted).toBe(true)
    expect(windows.map((w) => w.index)).toEqual([0, 1, 2])
    expect(windows.slice(0, 2).every((w) => w.complete && w.ok === 100)).toBe(true)
    expect(windows[2]!.complete).toBe(false)
    // The server sees each close asynchronously: wait for them (bounded), then none may be left open.
    // (Not events.once: a socket reset with a request in flight emits 'error' before 'close'.)
    const closed = (s: Socket) =>
      s.closed ? Promise.resolve() : new Promise<void>((resolve) => s.once('close', () => resolve()))
    await Promise.race([Promise.all([...sockets].map(closed)), delay(2000)])
    expect([...sockets].filter((s) => !s.closed)).toEqual([])
  })

  it(`on its worker thread: a consumer that throws stops the load and rejects the run, \
instead of crashing the process`, async () => {
    const port = await start()
    let windows = 0
    const run = runLoadInWorker(plan(port, 30), {
      onWindow: () => {
        windows++
        throw new Error('disk full')
      },
    })
    await expect(run).rejects.toThrow('disk full')
    expect(windows).toBe(1)
  })

  it('runs to the end on its own and emits every window in order, exactly once', async () => {
    const port = await start()
    const windows: WindowReport[] = []
    const result = await new LoadGenerator(plan(port, 3)).run({ onWindow: (w) => windows.push(w) })
    expect(result.aborted).toBe(false)
    expect(windows.map((w) => [w.index, w.planned, w.ok, w.complete])).toEqual([
      [0, 100, 100, true],
      [1, 100, 100, true],
      [2, 100, 100, true],
    ])
  })
})
