import { addErrorCounts, emptyErrorCounts, totalErrors, type WindowReport } from '@gauntlet/contracts'
import { LoadGenerator, responseExpectationFor, type ExpectedResponse } from '@gauntlet/agent'
import { decodeHistogram } from '@gauntlet/metrics'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServers, listenOnFreePort } from '../helpers/generator.js'

/**
 * Response checks and followed redirects against real servers that count what they answer: every
 * check error is matched against the server's own count of the answers that deserved one.
 */
describe('response checks (real sockets)', () => {
  const servers: Server[] = []
  afterEach(() => closeServers(servers))

  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    const server = createServer(handler)
    servers.push(server)
    return listenOnFreePort(server)
  }

  /** The real generator, in this thread, at `rps` for `durationS`, with the target's expectations. */
  async function load(
    port: number,
    expected: ExpectedResponse,
    opts: { rps?: number; durationS?: number; method?: string; body?: string; path?: string } = {},
  ) {
    const windows: WindowReport[] = []
    const expect = responseExpectationFor(expected)
    await new LoadGenerator({
      target: {
        protocol: 'http:',
        hostname: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...(opts.body ? { 'content-type': 'application/json' } : {}) },
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      },
      steps: [{ rps: opts.rps ?? 100, durationS: opts.durationS ?? 2, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 100,
      ...(expect ? { expect } : {}),
    }).run({ onWindow: (w) => windows.push(w) })
    const errors = emptyErrorCounts()
    for (const w of windows) addErrorCounts(errors, w.errors)
    const ok = windows.reduce((n, w) => n + w.ok, 0)
    const recorded = windows.reduce((n, w) => n + decodeHistogram(w.latency).totalCount, 0)
    const outcomes = ok + windows.reduce((n, w) => n + totalErrors(w.errors), 0)
    return { errors, ok, recorded, outcomes, planned: windows.reduce((n, w) => n + w.planned, 0) }
  }

  it('counts a body without the text as class check, exactly as often as the server sent one', async () => {
    let bad = 0
    let good = 0
    const port = await serve((_req, res) => {
      // Every other answer lacks the text; the good ones send it split across two writes.
      if ((good + bad) % 2 === 0) {
        good++
        res.write('{"id":1,"status":"cre')
        res.end('ated"}')
      } else {
        bad++
        res.end('{"id":1,"status":"pending"}')
      }
    })
    const run = await load(port, { expectBodyContains: '"status":"created"' })
    expect(run.outcomes).toBe(200)
    expect(bad).toBe(100)
    expect(run.errors.check).toBe(bad)
    expect(run.ok).toBe(good)
    // A failed check is not a success: its latency is not in the histogram.
    expect(run.recorded).toBe(good)
  })

  it('counts a missing or different header as class check, names case-insensitive', async () => {
    let n = 0
    let bad = 0
    const port = await serve((_req, res) => {
      const k = n++ % 4
      if (k === 0) res.setHeader('X-Version', 'build v2.1')
      else if (k === 1) res.setHeader('x-version', 'v2')
      else bad++ // k 2: v1; k 3: no header at all
      if (k === 2) res.setHeader('X-VERSION', 'v1')
      res.end('ok')
    })
    const run = await load(port, { expectHeader: { 'x-Version': 'v2' } })
    expect(n).toBe(200)
    expect(run.errors.check).toBe(bad)
    expect(run.errors.check).toBe(100)
    expect(run.ok).toBe(100)
  })

  it('judges checks only on a successful status: any other is an error of its status, as without checks', async () => {
    let n = 0
    const port = await serve((_req, res) => {
      res.statusCode = n++ % 2 === 0 ? 200 : 503
      res.end('nothing to see')
    })
    const run = await load(port, { expectBodyContains: 'created', expectHeader: { 'x-version': 'v2' } })
    expect(run.errors.status).toEqual({ '503': 100 })
    expect(run.errors.check).toBe(100)
    expect(run.ok).toBe(0)
  })

  it('accepts statuses by list, range and class', async () => {
    const statuses = [200, 204, 301, 302, 303, 404, 500, 201]
    const answered = new Map<number, number>()
    let n = 0
    const port = await serve((_req, res) => {
      const status = statuses[n++ % statuses.length]!
      answered.set(status, (answered.get(status) ?? 0) + 1)
      res.writeHead(status, status >= 300 && status < 400 ? { location: '/elsewhere' } : {}).end()
    })
    const run = await load(port, { expectStatus: ['2xx', '300-302', 404] }, { rps: 80 })
    expect(n).toBe(160)
    const count = (s: number): number => answered.get(s) ?? 0
    expect(run.ok).toBe(count(200) + count(204) + count(201) + count(301) + count(302) + count(404))
    expect(run.errors.status).toEqual({ '303': count(303), '500': count(500) })
  })

  it('follows redirects on the same origin with followRedirects: each hop reaches the server, the final answer decides', async () => {
    const hits = new Map<string, number>()
    const bySocket = new Map<unknown, string[]>()
    const port = await serve((req, res) => {
      bySocket.set(req.socket, [...(bySocket.get(req.socket) ?? []), req.url!])
      hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1)
      if (req.url === '/') res.writeHead(302, { location: '/next?x=1' }).end()
      else if (req.url === '/next?x=1')
        res.writeHead(301, { location: `http://127.0.0.1:${req.socket.localPort}/final` }).end('moved')
      else res.end('{"status":"created"}')
    })
    const run = await load(port, { followRedirects: true, expectBodyContains: 'created' })
    expect(Object.fromEntries(hits)).toEqual({ '/': 200, '/next?x=1': 200, '/final': 200 })
    expect(run.ok).toBe(200)
    expect(run.recorded).toBe(200)
    expect(totalErrors(run.errors)).toBe(0)
    // Each hop went out on the connection of the request it follows.
    for (const urls of bySocket.values()) {
      expect(urls.join(' ')).toBe(
        Array(urls.length / 3)
          .fill('/ /next?x=1 /final')
          .join(' '),
      )
    }
  })

  it('turns a POST into a GET without body after 302 and 303, keeps method and body after 307 and 308', async () => {
    const seen: string[] = []
    const port = await serve((req, res) => {
      let body = ''
      req.on('data', (c) => (body += c))
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body} ${req.headers['content-type'] ?? '-'}`)
        const next: Record<string, [number, string]> = {
          '/': [302, '/a'],
          '/a': [307, '/b'],
          '/b': [303, '/c'],
        }
        const hop = next[req.url!]
        if (hop) res.writeHead(hop[0], { location: hop[1] }).end()
        else if (req.url === '/c' && req.method === 'GET') res.writeHead(308, { location: '/d' }).end()
        else res.end('done')
      })
    })
    // 302 after a POST: GET; then 307, 303 and 308 keep that GET.
    const run = await load(port, { followRedirects: true }, { rps: 5, durationS: 1, method: 'POST', body: '{"a":1}' })
    expect(run.ok).toBe(5)
    expect(new Set(seen)).toEqual(
      new Set(['POST / {"a":1} application/json', 'GET /a  -', 'GET /b  -', 'GET /c  -', 'GET /d  -']),
    )
    // A POST met by a 307 keeps its method and body; the 303 after it makes it a GET.
    seen.length = 0
    const kept = await load(
      port,
      { followRedirects: true },
      { rps: 5, durationS: 1, method: 'POST', body: '{"a":1}', path: '/a' },
    )
    expect(kept.ok).toBe(5)
    expect(new Set(seen)).toEqual(
      new Set(['POST /a {"a":1} application/json', 'POST /b {"a":1} application/json', 'GET /c  -', 'GET /d  -']),
    )
  })

  it('follows on a new socket when the server closes after its redirect', async () => {
    let finals = 0
    const port = await serve((req, res) => {
      if (req.url === '/') res.writeHead(302, { location: '/final', connection: 'close' }).end()
      else {
        finals++
        res.end('ok')
      }
    })
    const run = await load(port, { followRedirects: true }, { rps: 50, durationS: 1 })
    expect(finals).toBe(50)
    expect(run.ok).toBe(50)
  })

  it('counts a redirect to another origin as class check, without following it', async () => {
    const other = await serve((_req, res) => res.end('elsewhere'))
    let hits = 0
    const port = await serve((_req, res) => {
      hits++
      res.writeHead(302, { location: `http://127.0.0.1:${other}/` }).end()
    })
    const run = await load(port, { followRedirects: true }, { rps: 50, durationS: 1 })
    expect(hits).toBe(50)
    expect(run.errors.check).toBe(50)
    expect(run.errors.status).toEqual({})
  })

  it('gives up after 5 hops with class check: the server sees the request and 5 followed ones', async () => {
    let hits = 0
    const port = await serve((_req, res) => {
      hits++
      res.writeHead(307, { location: `/loop${hits}` }).end()
    })
    const run = await load(port, { followRedirects: true }, { rps: 20, durationS: 1 })
    expect(run.errors.check).toBe(20)
    expect(hits).toBe(20 * 6)
  })

  it('does not follow without followRedirects: the redirect is an error of its status', async () => {
    let hits = 0
    const port = await serve((_req, res) => {
      hits++
      res.writeHead(302, { location: '/final' }).end()
    })
    const run = await load(port, { expectBodyContains: 'x' }, { rps: 50, durationS: 1 })
    expect(hits).toBe(50)
    expect(run.errors.status).toEqual({ '302': 50 })
    expect(run.errors.check).toBe(0)
  })
})
