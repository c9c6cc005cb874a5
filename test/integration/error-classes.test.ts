import type { WindowReport } from '@gauntlet/contracts'
import { LoadGenerator } from '@gauntlet/agent'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { addErrorCounts, emptyErrorCounts, totalErrors } from '@gauntlet/contracts'
import { closeServers, generate, listenOnFreePort } from '../helpers/generator.js'

/** Errors are counted from sends, by class, against servers that misbehave in one specific way each. */
describe('error classes (real sockets)', () => {
  const servers: Array<Server | HttpServer> = []
  afterEach(() => closeServers(servers))
  const listen = (server: Server | HttpServer): Promise<number> => (servers.push(server), listenOnFreePort(server))
  const load = generate

  it('counts HTTP error statuses by code and keeps them out of the latency histogram', async () => {
    let n = 0
    const port = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = ++n % 4 === 0 ? 503 : n % 4 === 1 ? 404 : 200
        res.end()
      }),
    )
    const { errors, ok } = await load(port, { rps: 100, durationS: 2 })
    expect(errors.status).toEqual({ '503': 50, '404': 50 })
    expect(ok).toBe(100)
  })

  it('counts a redirect as an error of its status (never followed), unless the plan expects that status', async () => {
    let followed = 0
    const port = await listen(
      createHttpServer((req, res) => {
        if (req.url !== '/') followed++
        res.writeHead(302, { location: '/elsewhere' }).end()
      }),
    )
    const plain = await load(port, { rps: 50, durationS: 1 })
    expect([plain.ok, plain.errors.status]).toEqual([0, { '302': 50 }])
    const windows: WindowReport[] = []
    await new LoadGenerator({
      target: { protocol: 'http:', hostname: '127.0.0.1', port, path: '/', method: 'GET', headers: {} },
      steps: [{ rps: 50, durationS: 1, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 100,
      expect: { status: [[302, 302]], followRedirects: false },
    }).run({ onWindow: (w) => windows.push(w) })
    expect(windows.reduce((n, w) => n + w.ok, 0)).toBe(50)
    expect(windows.reduce((n, w) => n + totalErrors(w.errors), 0)).toBe(0)
    expect(followed).toBe(0)
  })

  it('counts requests the server never answers as timeouts, measured from the send', async () => {
    const port = await listen(createServer((socket) => socket.resume())) // reads, never answers
    const { errors, ok, sent } = await load(port, { rps: 20, durationS: 1, timeoutMs: 300 })
    expect(sent).toBe(20)
    expect(ok).toBe(0)
    expect(errors.timeout).toBe(20)
  })

  it('counts a connection reset in place of a response as reset', async () => {
    const port = await listen(createServer((socket: Socket) => socket.once('data', () => socket.resetAndDestroy())))
    const { errors, sent } = await load(port, { rps: 50, durationS: 1 })
    expect(sent).toBe(50)
    expect(errors.reset).toBe(50)
  })

  it('counts refused connections once the target goes away mid-run, without a busy reconnect loop', async () => {
    const sockets = new Set<Socket>()
    const server = createHttpServer((_req, res) => res.end('ok'))
    server.on('connection', (s) => sockets.add(s))
    const port = await listen(server)
    let refusedFrom = 0
    const windows: WindowReport[] = []
    const generator = new LoadGenerator({
      target: { protocol: 'http:', hostname: '127.0.0.1', port, path: '/', method: 'GET', headers: {} },
      steps: [{ rps: 100, durationS: 3, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 1000,
    })
    await generator.run({
      onWindow: (w) => {
        windows.push(w)
        if (w.index === 0) {
          // After the first second, stop listening and drop every connection: later sends are refused.
          refusedFrom = w.index + 1
          server.close()
          for (const s of sockets) s.destroy()
        }
      },
    })
    const later = emptyErrorCounts()
    for (const w of windows.filter((w) => w.index > refusedFrom)) addErrorCounts(later, w.errors)
    expect(windows[0]!.ok).toBe(100)
    expect(later.refused).toBe(100)
    // Every send has exactly one outcome.
    const outcomes = windows.reduce((n, w) => n + w.ok + totalErrors(w.errors), 0)
    expect(outcomes).toBe(300)
  })

  it('marks windows generator-limited when a fixed pool cannot keep the schedule', async () => {
    const port = await listen(createHttpServer((_req, res) => setTimeout(() => res.end('ok'), 100)))
    // 1 connection x 100 ms per request = 10 rps at most, asked for 50 rps.
    const { windows } = await load(port, { rps: 50, durationS: 2, connections: 1 })
    expect(windows.some((w) => w.generatorLimited)).toBe(true)
    expect(windows.some((w) => w.lateSends > 0)).toBe(true)
  })
})
