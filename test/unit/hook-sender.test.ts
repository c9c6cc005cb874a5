import type { HookPayload } from '@gauntlet/contracts'
import { parseAllowList } from '@gauntlet/http'
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  deliverHook,
  resolveSecret,
  secretNotSet,
  sign,
  stoppedInFlight,
} from '../../apps/controller/src/hooks/hook-sender.js'
import { RunHooks } from '../../apps/controller/src/hooks/run-hooks.js'

describe('hook signing', () => {
  it('signs the exact body with HMAC-SHA256, hex, prefixed sha256=', () => {
    const body = '{"event":"onRollback","run":"r1"}'
    expect(sign(body, 'k')).toBe(`sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`)
    expect(sign(body, 'k')).not.toBe(sign(`${body} `, 'k'))
  })

  it.each<[string, NodeJS.ProcessEnv, string | undefined]>([
    ['${GAUNTLET_SECRET_ROLLBACK}', { GAUNTLET_SECRET_ROLLBACK: 'abc' }, 'abc'],
    ['${GAUNTLET_SECRET_ROLLBACK}', {}, undefined],
    ['${GAUNTLET_SECRET_ROLLBACK}', { GAUNTLET_SECRET_ROLLBACK: '' }, undefined],
    // Only GAUNTLET_SECRET_* may be read: never the API token or any other variable, never a literal.
    ['${GAUNTLET_TOKEN}', { GAUNTLET_TOKEN: 'api-token' }, undefined],
    ['${ROLLBACK_SECRET}', { ROLLBACK_SECRET: 'abc' }, undefined],
    ['${GAUNTLET_SECRET_}', { GAUNTLET_SECRET_: 'abc' }, undefined],
    ['plain-secret', {}, undefined],
    ['pre${GAUNTLET_SECRET_X}post', { GAUNTLET_SECRET_X: 'y' }, undefined],
  ])('secret %s with %j -> %s', (secret, env, expected) => {
    expect(resolveSecret(secret, env)).toBe(expected)
  })
})

const loopback = parseAllowList('127.0.0.1', 'GAUNTLET_HOOK_ALLOW')
const payload: HookPayload = { event: 'postRun', run: 'r1', scenario: 's', at: '2026-01-01T00:00:00.000Z' }

/** A real receiver on 127.0.0.1:0 whose answer each test chooses; requests it received are counted. */
async function receiver(answer: (request: IncomingMessage, response: ServerResponse) => void) {
  const requests: Array<{ url: string; signature: string | undefined; body: string }> = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      requests.push({
        url: request.url!,
        signature: request.headers['x-gauntlet-signature'] as string | undefined,
        body,
      })
      answer(request, response)
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}
const servers: Array<ReturnType<typeof createServer>> = []
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.close()
    server.closeAllConnections()
  }
})

describe('hook delivery', () => {
  it('signs with the referenced GAUNTLET_SECRET_ variable', async () => {
    const r = await receiver((_, response) => response.writeHead(204).end())
    const delivery = await deliverHook(
      'postRun',
      { url: `${r.url}/done`, secret: '${GAUNTLET_SECRET_X}', timeoutMs: 2000, retries: 0 },
      payload,
      { allow: loopback, env: { GAUNTLET_SECRET_X: 'k' } },
    )
    expect(delivery).toMatchObject({ delivered: true, attempts: [{ status: 204 }] })
    expect(r.requests[0]!.signature).toBe(sign(r.requests[0]!.body, 'k'))
  })

  it('an unset reference is not sent and is reported without its name', async () => {
    const r = await receiver((_, response) => response.writeHead(204).end())
    const delivery = await deliverHook(
      'postRun',
      { url: r.url, secret: '${GAUNTLET_SECRET_GONE}', timeoutMs: 2000, retries: 2 },
      payload,
      { allow: loopback, env: {} },
    )
    expect(delivery).toMatchObject({ delivered: false, attempts: [{ error: secretNotSet }] })
    expect(JSON.stringify(delivery)).not.toContain('GAUNTLET_SECRET_GONE')
    expect(r.requests).toHaveLength(0)
  })

  it('a 3xx is a failed attempt with its status: not followed, not retried, its body never recorded', async () => {
    const r = await receiver((_, response) =>
      response.writeHead(302, { location: 'http://127.0.0.2:9/' }).end('secret-body-from-receiver'),
    )
    const delivery = await deliverHook('postRun', { url: r.url, timeoutMs: 2000, retries: 3 }, payload, {
      allow: loopback,
    })
    expect(delivery).toMatchObject({ delivered: false, attempts: [{ status: 302 }] })
    expect(delivery.attempts).toHaveLength(1)
    expect(JSON.stringify(delivery)).not.toContain('secret-body')
  })

  it('a host outside the allow-list is refused before connecting, and not retried', async () => {
    const delivery = await deliverHook(
      'postRun',
      { url: 'http://127.0.0.2:9/', timeoutMs: 2000, retries: 3 },
      payload,
      { allow: loopback },
    )
    expect(delivery.delivered).toBe(false)
    expect(delivery.attempts).toHaveLength(1)
    expect(delivery.attempts[0]!.error).toMatch(/not allowed by GAUNTLET_HOOK_ALLOW/)
  })

  it('aborting cancels an attempt in flight and the retries after it', async () => {
    const r = await receiver(() => undefined) // never answers
    const stop = new AbortController()
    const delivering = deliverHook('onHold', { url: r.url, timeoutMs: 60_000, retries: 5 }, payload, {
      allow: loopback,
      signal: stop.signal,
    })
    while (r.requests.length === 0) await new Promise((resolve) => setImmediate(resolve))
    const stoppedAt = performance.now()
    stop.abort()
    const delivery = await delivering
    expect(performance.now() - stoppedAt).toBeLessThan(1000)
    expect(delivery).toMatchObject({ delivered: false, attempts: [{ error: stoppedInFlight }] })
  })
})

describe('run hooks on stop', () => {
  it('cancels other events at once; onRollback and postRun get the grace, then are cancelled', async () => {
    const r = await receiver(() => undefined) // never answers
    const hooks = new RunHooks(
      {
        onHold: [{ url: `${r.url}/hold`, timeoutMs: 60_000, retries: 5 }],
        postRun: [{ url: `${r.url}/post`, timeoutMs: 60_000, retries: 5 }],
      },
      { run: 'r1', scenario: 's' },
      { allow: loopback, graceMs: 300 },
    )
    const hold = hooks.fire('onHold')
    const post = hooks.fire('postRun')
    while (r.requests.length < 2) await new Promise((resolve) => setImmediate(resolve))
    const stoppedAt = performance.now()
    hooks.stop()
    const [held] = await hold
    const holdMs = performance.now() - stoppedAt
    const [posted] = await post
    const postMs = performance.now() - stoppedAt
    expect(held).toMatchObject({ delivered: false, attempts: [{ error: stoppedInFlight }] })
    expect(holdMs).toBeLessThan(250)
    expect(posted).toMatchObject({ delivered: false, attempts: [{ error: stoppedInFlight }] })
    expect(postMs).toBeGreaterThanOrEqual(250)
    expect(postMs).toBeLessThan(1500)
    // A postRun fired after the grace is over is not sent at all.
    const [late] = await hooks.fire('postRun')
    expect(late).toMatchObject({ delivered: false, attempts: [{ error: 'not sent: the run was stopped' }] })
    expect((await hooks.settled()).length).toBe(3)
  })
})
