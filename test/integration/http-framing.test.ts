import { emptyErrorCounts } from '@gauntlet/contracts'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServers, generate, listenOnFreePort } from '../helpers/generator.js'

/**
 * Responses are framed right on every connection, whatever the server does with it: bodiless
 * responses, "Connection: close", bodies that run until the close, and connections cut mid-response.
 * (Each of these once produced wrong outcomes or timeouts blamed on the target.)
 */
describe('HTTP response framing (real sockets)', () => {
  const servers: Array<Server | HttpServer> = []
  afterEach(() => closeServers(servers))
  const listen = (server: Server | HttpServer): Promise<number> => (servers.push(server), listenOnFreePort(server))
  const load = generate

  /** A raw server: `respond(n, socket)` answers the n-th request (1-based) however it likes. */
  function rawServer(respond: (n: number, socket: Socket) => void): Server {
    let n = 0
    return createServer((socket) => {
      let buffer = ''
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        while (buffer.includes('\r\n\r\n') && !socket.destroyed) {
          buffer = buffer.slice(buffer.indexOf('\r\n\r\n') + 4)
          respond(++n, socket)
        }
      })
    })
  }
  const hello = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'

  // Every response arrives (no timeout); a 304 is outside 2xx, so without `expect` it counts as an error of its status.
  it.each([
    ['HEAD', 200, 20],
    ['GET', 204, 20],
    ['GET', 304, 0],
  ])('%s answered %i has no body: no timeout waiting for one', async (method, status, expectedOk) => {
    const port = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = status
        res.end(status === 200 ? 'hello world' : undefined)
      }),
    )
    const { ok, errors } = await load(port, { rps: 20, durationS: 1, method, timeoutMs: 500 })
    expect(errors.timeout).toBe(0)
    expect(ok).toBe(expectedOk)
    expect(ok + (errors.status[String(status)] ?? 0)).toBe(20)
  })

  it('opens a new connection after "Connection: close" instead of blaming the target', async () => {
    const port = await listen(
      createHttpServer((_req, res) => {
        res.setHeader('connection', 'close')
        res.end('hello')
      }),
    )
    const { ok, errors } = await load(port, { rps: 500, durationS: 1, connections: 4 })
    expect(errors).toEqual(emptyErrorCounts())
    expect(ok).toBe(500)
  })

  it('respects a server that caps requests per connection', async () => {
    const server = createHttpServer((_req, res) => res.end('hello'))
    server.maxRequestsPerSocket = 5
    const port = await listen(server)
    const { ok, errors } = await load(port, { rps: 300, durationS: 1, connections: 4 })
    expect(errors).toEqual(emptyErrorCounts())
    expect(ok).toBe(300)
  })

  it('completes a body that runs until the server closes', async () => {
    const port = await listen(
      rawServer((n, socket) =>
        n === 1 ? socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until eof') : socket.write(hello),
      ),
    )
    const { ok, errors } = await load(port, { rps: 10, durationS: 2, connections: 1, timeoutMs: 300 })
    expect(errors).toEqual(emptyErrorCounts())
    expect(ok).toBe(20)
  })

  it.each([
    [
      'a response that stalls mid-body times out',
      (socket: Socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'),
      'timeout',
    ],
    [
      'a response cut by a reset counts as reset',
      (socket: Socket) => (
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123'),
        socket.resetAndDestroy()
      ),
      'reset',
    ],
  ] as const)('%s, and the next socket starts with a clean parser', async (_name, first, kind) => {
    const port = await listen(rawServer((n, socket) => (n === 1 ? first(socket) : socket.write(hello))))
    const { ok, errors } = await load(port, { rps: 10, durationS: 2, connections: 1, timeoutMs: 300 })
    expect(errors[kind]).toBe(1)
    expect(errors.status).toEqual({})
    expect(ok).toBe(19)
  })
})
