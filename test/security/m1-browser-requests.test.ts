import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { startController, testToken, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * M1: with no token (the loopback default) a `POST /api/runs` with a foreign Host and a text/plain
 * abort both worked: DNS rebinding and cross-site POSTs from any web page. The Host header must now
 * name the controller, every mutation must be application/json, and no CORS header ever approves a
 * cross-origin request.
 */

interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** node:http, not fetch: fetch will not send a Host header other than the URL's. */
function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers ?? {}, timeout: 10_000 },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }))
      },
    )
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer within 10 s`)))
    request.on('error', reject)
    request.end(init.body)
  })
}

const bearer = { authorization: `Bearer ${testToken}` }

function accessControlHeaders(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((name) => name.startsWith('access-control-'))
}

describe('M1: browsers cannot be used against the controller', () => {
  let target: ChildServer
  let c: ControllerUnderTest
  let port: string
  /** A scenario that keeps its run going long enough to be aborted. */
  let longYaml: string

  beforeAll(async () => {
    target = await startDemoTarget()
    c = await startController()
    port = new URL(c.url).port
    longYaml =
      `name: long\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 5, duration: 60s }]\n` +
      `thresholds: [p99 < 5s]\n`
  })
  afterAll(async () => {
    await c?.stop()
    await target?.stop()
  })

  const runCount = async (): Promise<number> => ((await (await c.api('/api/runs')).json()) as unknown[]).length

  it('refuses a foreign Host (DNS rebinding) with 403 before anything happens, even with a valid token', async () => {
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `EVIL.example.:${port}`,
      `localhost.evil.example:${port}`,
    ]) {
      const read = await raw(`${c.url}/api/runs`, { headers: { ...bearer, host } })
      expect(read.status, host).toBe(403)
      expect(read.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(read.body)).toMatchObject({ status: 403, code: 'forbidden' })
    }
    const mutation = await raw(`${c.url}/api/runs`, {
      method: 'POST',
      headers: { ...bearer, host: `evil.example:${port}`, 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: longYaml }),
    })
    expect(mutation.status).toBe(403)
    expect(JSON.parse(mutation.body)).toMatchObject({ code: 'forbidden' })
    expect(await runCount()).toBe(0)
    // Not even the open routes answer a rebound name.
    expect((await raw(`${c.url}/healthz`, { headers: { host: `evil.example:${port}` } })).status).toBe(403)
  })

  it('answers the names of a loopback controller and its addresses', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      expect((await raw(`${c.url}/api/runs`, { headers: { ...bearer, host } })).status, host).toBe(200)
    }
  })

  it('refuses mutations that are not application/json with 415, the abort included, and does nothing', async () => {
    const plain = await raw(`${c.url}/api/runs`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'text/plain' },
      body: JSON.stringify({ yaml: longYaml }),
    })
    expect(plain.status).toBe(415)
    expect(JSON.parse(plain.body)).toMatchObject({ status: 415, code: 'unsupported_media_type' })
    const form = await raw(`${c.url}/api/runs`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'yaml=x',
    })
    expect(form.status).toBe(415)
    expect(await runCount()).toBe(0)

    const started = await c.api('/api/runs', { body: { yaml: longYaml } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    try {
      for (const headers of [{ 'content-type': 'text/plain' }, {}] as Array<Record<string, string>>) {
        const abort = await raw(`${c.url}/api/runs/${id}/abort`, {
          method: 'POST',
          headers: { ...bearer, ...headers },
          body: '{}',
        })
        expect(abort.status).toBe(415)
      }
      const deleted = await raw(`${c.url}/api/scenarios/long`, { method: 'DELETE', headers: bearer })
      expect(deleted.status).toBe(415)
      expect(((await (await c.api(`/api/runs/${id}`)).json()) as { status: string }).status).toBe('running')
    } finally {
      // application/json with an empty body is the bodiless abort; it works.
      const abort = await raw(`${c.url}/api/runs/${id}/abort`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
      })
      expect(abort.status).toBe(202)
    }
    let status = 'running'
    for (let i = 0; i < 100 && status === 'running'; i++) {
      status = ((await (await c.api(`/api/runs/${id}`)).json()) as { status: string }).status
      if (status === 'running') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(status).toBe('aborted')
    // `{}` is as good as no body: the handler answers (the run has ended), not the content-type check.
    const again = await raw(`${c.url}/api/runs/${id}/abort`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json; charset=utf-8' },
      body: '{}',
    })
    expect([202, 409]).toContain(again.status)
  })

  it('never sends a CORS header, so no cross-origin read or preflight is approved', async () => {
    const origin = { origin: 'http://evil.example' }
    const read = await raw(`${c.url}/api/runs`, { headers: { ...bearer, ...origin } })
    expect(read.status).toBe(200)
    expect(accessControlHeaders(read.headers)).toEqual([])
    const preflight = await raw(`${c.url}/api/runs`, {
      method: 'OPTIONS',
      headers: {
        ...origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    })
    expect(preflight.status).toBeGreaterThanOrEqual(400)
    expect(accessControlHeaders(preflight.headers)).toEqual([])
    const health = await raw(`${c.url}/healthz`, { headers: origin })
    expect(accessControlHeaders(health.headers)).toEqual([])
  })

  it('forbids framing and content-type sniffing on every answer, /docs and refusals included', async () => {
    for (const response of [
      await raw(`${c.url}/docs`, { headers: bearer }),
      await raw(`${c.url}/healthz`),
      await raw(`${c.url}/api/runs`),
    ]) {
      expect(response.headers['x-frame-options']).toBe('DENY')
      expect(response.headers['content-security-policy']).toBe("frame-ancestors 'none'")
      expect(response.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('closes the connection of a refused request that has a body, instead of reading it', async () => {
    const refused = await raw(`${c.url}/api/runs`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'text/plain' },
      body: 'x'.repeat(1000),
    })
    expect(refused.status).toBe(415)
    expect(refused.headers['connection']).toBe('close')
    const stranger = await raw(`${c.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(stranger.status).toBe(401)
    expect(stranger.headers['connection']).toBe('close')
  })

  it('is still healthy', async () => {
    expect(await c.healthy()).toBe(true)
  })
})

describe('M1: a controller reached by name', () => {
  it('answers the names of --public-url and GAUNTLET_ALLOWED_HOSTS, and no other', async () => {
    const c = await startController({
      args: ['--public-url', 'https://gauntlet.example.com/'],
      env: { GAUNTLET_ALLOWED_HOSTS: 'ctl.internal, other.internal' },
    })
    try {
      const port = new URL(c.url).port
      for (const host of [
        'gauntlet.example.com',
        `gauntlet.example.com:${port}`,
        `CTL.internal:${port}`,
        'other.internal',
        `10.1.2.3:${port}`,
      ]) {
        expect((await raw(`${c.url}/api/runs`, { headers: { ...bearer, host } })).status, host).toBe(200)
      }
      for (const host of ['example.com', `evil.gauntlet.example.com:${port}`, `ctl.internal.evil.example:${port}`]) {
        expect((await raw(`${c.url}/api/runs`, { headers: { ...bearer, host } })).status, host).toBe(403)
      }
      expect(await c.healthy()).toBe(true)
    } finally {
      await c.stop()
    }
  })
})
