import {
  errorHandler,
  RequestVerifier,
  signatureWindowMs,
  signedRequestHooks,
  signRequest,
  type ProblemDetails,
} from '@gauntlet/http'
import Fastify, { type FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** app.inject sends Host: localhost:80; a signature names its receiver's host. */
const at = (path: string): string => `http://localhost${path}`

const secret = 'shared-agent-secret'
const t0 = 1_800_000_000_000

/** A server whose one route takes only requests signed with `secret`, on a clock the test moves. */
async function signedServer(clock: { now: number }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.setErrorHandler(errorHandler)
  const hooks = signedRequestHooks(new RequestVerifier(secret, () => clock.now), 'no secret here')
  app.post(
    '/api/agents/:name/reports',
    { onRequest: hooks.onRequest, preParsing: hooks.preParsing, preValidation: hooks.preValidation },
    (request) => ({ got: request.body }),
  )
  app.delete(
    '/assignments/:id',
    { onRequest: hooks.onRequest, preParsing: hooks.preParsing, preValidation: hooks.preValidation },
    () => ({ stopped: true }),
  )
  await app.ready()
  return app
}

describe('signed requests between controller and agents', () => {
  const clock = { now: t0 }
  let app: FastifyInstance
  beforeAll(async () => {
    app = await signedServer(clock)
  })
  afterAll(async () => {
    await app.close()
  })

  const path = '/api/agents/a1/reports?x=1'
  const body = JSON.stringify({ runId: 'r1', windows: [] })
  const send = (
    headers: Record<string, string>,
    options: { method?: 'POST' | 'DELETE'; url?: string; payload?: string } = {},
  ) =>
    app.inject({
      method: options.method ?? 'POST',
      url: options.url ?? path,
      headers: { 'content-type': 'application/json', ...headers },
      payload: options.payload ?? body,
    })

  it('takes a request signed with the secret over its method, path, time, nonce and body', async () => {
    const response = await send(signRequest(secret, 'POST', at(path), body, t0))
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ got: { runId: 'r1', windows: [] } })
  })

  it('takes a body-less request signed over the empty body', async () => {
    const response = await app.inject({
      method: 'DELETE',
      url: '/assignments/r1',
      headers: signRequest(secret, 'DELETE', at('/assignments/r1'), undefined, t0),
    })
    expect(response.statusCode).toBe(200)
  })

  it.each<[string, () => Record<string, string>, { method?: 'POST' | 'DELETE'; url?: string; payload?: string }?]>([
    ['no signature at all', () => ({})],
    ['a signature made with another secret', () => signRequest('another-secret', 'POST', at(path), body, t0)],
    [
      'a signature older than the window',
      () => signRequest(secret, 'POST', at(path), body, t0 - signatureWindowMs - 1_000),
    ],
    [
      'a signature from the future beyond the window',
      () => signRequest(secret, 'POST', at(path), body, t0 + signatureWindowMs + 1_000),
    ],
    [
      'a body other than the one signed',
      () => signRequest(secret, 'POST', at(path), body, t0),
      { payload: JSON.stringify({ runId: 'r2', windows: [] }) },
    ],
    ['another path than the one signed', () => signRequest(secret, 'POST', at('/api/agents/a2/reports?x=1'), body, t0)],
    ['another query than the one signed', () => signRequest(secret, 'POST', at('/api/agents/a1/reports'), body, t0)],
    [
      'another method than the one signed',
      () => signRequest(secret, 'PUT', at('/assignments/r1'), undefined, t0),
      { method: 'DELETE', url: '/assignments/r1' },
    ],
    [
      'a garbled signature',
      () => ({ ...signRequest(secret, 'POST', at(path), body, t0), 'x-gauntlet-signature': 'zz' }),
    ],
    [
      'a request signed for another receiver (an order captured on its way to another agent)',
      () => signRequest(secret, 'POST', `http://10.1.2.3:7070${path}`, body, t0),
    ],
  ])('refuses %s with 401 problem+json', async (_, headers, options) => {
    const response = await send(headers(), options)
    expect(response.statusCode).toBe(401)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthorized' })
  })

  it('refuses a replay of a request it took', async () => {
    const headers = signRequest(secret, 'POST', at(path), body, t0)
    expect((await send(headers)).statusCode).toBe(200)
    const replay = await send(headers)
    expect(replay.statusCode).toBe(401)
    expect(replay.json<ProblemDetails>().detail).toMatch(/replayed/)
  })

  it('takes a signature within the window on either side', async () => {
    expect((await send(signRequest(secret, 'POST', at(path), body, t0 - signatureWindowMs + 1_000))).statusCode).toBe(
      200,
    )
    expect((await send(signRequest(secret, 'POST', at(path), body, t0 + signatureWindowMs - 1_000))).statusCode).toBe(
      200,
    )
  })

  it('refuses an unsigned request with an invalid body as 401, not 400', async () => {
    const response = await send({}, { payload: '{not json' })
    expect(response.statusCode).toBe(401)
  })

  it('refuses every request when there is no secret', async () => {
    const closed = Fastify({ logger: false })
    closed.setErrorHandler(errorHandler)
    const hooks = signedRequestHooks(undefined, 'no secret configured')
    closed.put(
      '/x',
      { onRequest: hooks.onRequest, preParsing: hooks.preParsing, preValidation: hooks.preValidation },
      () => 'taken',
    )
    const response = await closed.inject({
      method: 'PUT',
      url: '/x',
      headers: signRequest(secret, 'PUT', at('/x'), '{}', Date.now()),
      payload: '{}',
    })
    expect(response.statusCode).toBe(401)
    expect(response.json<ProblemDetails>().detail).toBe('no secret configured')
    await closed.close()
  })

  it(`with hashBody 'parser', checks the body its routes' parser hashed: the signed one is taken, another is \
refused, and one the parser never read counts as empty`, async () => {
    const parsed = Fastify({ logger: false })
    parsed.setErrorHandler(errorHandler)
    const hooks = signedRequestHooks(new RequestVerifier(secret), 'no secret here', { hashBody: 'parser' })
    parsed.removeContentTypeParser('application/json')
    parsed.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw: Buffer, done) => {
      hooks.bodyRead(request, raw)
      done(null, JSON.parse(raw.toString()))
    })
    parsed.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, text, done) => done(null, text))
    parsed.post(
      '/r',
      { onRequest: hooks.onRequest, preParsing: hooks.preParsing, preValidation: hooks.preValidation },
      (request) => ({ got: request.body }),
    )
    const post = (payload: string, signedBody: string, type = 'application/json') =>
      parsed.inject({
        method: 'POST',
        url: '/r',
        headers: { 'content-type': type, ...signRequest(secret, 'POST', at('/r'), signedBody) },
        payload,
      })
    const taken = await post(body, body)
    expect(taken.statusCode).toBe(200)
    expect(taken.json()).toEqual({ got: { runId: 'r1', windows: [] } })
    expect((await post(JSON.stringify({ runId: 'r2', windows: [] }), body)).statusCode).toBe(401)
    // A body the hashing parser does not read is no body: signed over what was sent, it is refused.
    expect((await post('hello', 'hello', 'text/plain')).statusCode).toBe(401)
    await parsed.close()
  })

  it('ends the body parse of a request whose client goes away mid-body (it does not wait for good)', async () => {
    const server = Fastify({ logger: false })
    const ended: string[] = []
    server.setErrorHandler((error: Error, _request, reply) => {
      ended.push(error.message)
      return reply.code(400).send()
    })
    const hooks = signedRequestHooks(new RequestVerifier(secret), 'no secret here')
    let hashing = false
    server.post(
      '/r',
      {
        onRequest: hooks.onRequest,
        preParsing: [
          hooks.preParsing,
          async (_request, _reply, payload) => {
            hashing = true
            return payload
          },
        ],
        preValidation: hooks.preValidation,
      },
      () => 'taken',
    )
    await server.listen({ port: 0, host: '127.0.0.1' })
    const { port } = server.server.address() as AddressInfo
    const whole = JSON.stringify({ padding: 'x'.repeat(1000) })
    const headers = signRequest(secret, 'POST', `http://127.0.0.1:${port}/r`, whole)
    const socket = connect(port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write(
      `POST /r HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
        `content-length: ${whole.length}\r\n${Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('')}\r\n${whole.slice(0, 100)}`,
    )
    // The signature is checked and the body is being hashed when the client goes.
    await expect.poll(() => hashing, { timeout: 5_000 }).toBe(true)
    socket.destroy()
    await expect.poll(() => ended, { timeout: 5_000 }).toEqual(['the request body was cut off'])
    await server.close()
  })
})

describe('RequestVerifier', () => {
  it(`binds a request to its receiver: a second agent with the same secret refuses an order signed for the \
first`, () => {
    const first = new RequestVerifier(secret, () => t0)
    const second = new RequestVerifier(secret, () => t0)
    const headers = signRequest(secret, 'POST', 'http://agent-a:7070/assignments', '{}', t0)
    expect(first.verifyHeaders('POST', 'agent-a:7070', '/assignments', headers)).toMatch(/^[0-9a-f]{64}$/)
    expect(() => second.verifyHeaders('POST', 'agent-b:7070', '/assignments', headers)).toThrow(/does not match/)
  })

  it('takes the host as the Host header carries it: any case, with or without a default port', () => {
    const verifier = new RequestVerifier(secret, () => t0)
    expect(() =>
      verifier.verifyHeaders(
        'GET',
        'Controller.Example:443',
        '/a',
        signRequest(secret, 'GET', 'https://controller.example/a', undefined, t0),
      ),
    ).not.toThrow()
  })

  it('names what was wrong without revealing the expected signature', () => {
    const verifier = new RequestVerifier(secret, () => t0)
    const headers = signRequest('wrong', 'GET', at('/a'), undefined, t0)
    try {
      verifier.verifyHeaders('GET', 'localhost', '/a', headers)
      expect.unreachable()
    } catch (error) {
      const message = (error as Error).message
      expect(message).toMatch(/does not match/)
      expect(message).not.toMatch(/[0-9a-f]{64}/)
    }
  })

  it('forgets nonces once their window has passed, and still refuses the old request as stale', () => {
    const clock = { now: t0 }
    const verifier = new RequestVerifier(secret, () => clock.now)
    const headers = signRequest(secret, 'GET', at('/a'), undefined, t0)
    verifier.verifyHeaders('GET', 'localhost', '/a', headers)
    clock.now = t0 + 2 * signatureWindowMs + 1
    expect(() => verifier.verifyHeaders('GET', 'localhost', '/a', headers)).toThrow(/more than 30 s/)
  })
})
