import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { startController, testToken, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * M4: `GET /api/scenarios/:name` was public and returned literal secrets (a target `authorization`
 * header). With GAUNTLET_TOKEN set every /api route now needs it, reads included (--public-read opens
 * the reads only), and credential header values are shown as «redacted» in every response, summary
 * and printed line, while runs still send them.
 */

const secrets = {
  authorization: 'Bearer target-secret-4b1e9a',
  apiKey: 'api-key-secret-7c2d55',
  cookie: 'session=cookie-secret-93af01',
}

function scenarioYaml(name: string, targetUrl: string, duration = '1s'): string {
  return `# a scenario with credentials for its target
name: ${name}
target:
  url: "${targetUrl}/"
  headers:
    Authorization: ${secrets.authorization}
    x-api-key: '${secrets.apiKey}'
    cookie: "${secrets.cookie}"
    accept: application/json
load:
  steps: [{ rps: 5, duration: ${duration} }]
thresholds: [p99 < 5s]
`
}

/** A target that counts the requests that carried every credential: redaction must not reach what is sent. */
async function credentialTarget(): Promise<{ url: string; authorized: () => number; close: () => Promise<void> }> {
  let authorized = 0
  const server: Server = createServer((request, response) => {
    const h = request.headers
    if (h.authorization === secrets.authorization && h['x-api-key'] === secrets.apiKey && h.cookie === secrets.cookie)
      authorized++
    request.resume()
    response.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorized: () => authorized,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function expectNoSecret(text: string): void {
  for (const secret of Object.values(secrets)) expect(text).not.toContain(secret)
}

describe('M4: secrets are not shown', () => {
  let target: Awaited<ReturnType<typeof credentialTarget>>
  let c: ControllerUnderTest

  beforeAll(async () => {
    target = await credentialTarget()
    c = await startController()
    expect(
      (await c.api('/api/scenarios/orders', { method: 'PUT', body: { yaml: scenarioYaml('orders', target.url) } }))
        .status,
    ).toBe(201)
  })
  afterAll(async () => {
    await c?.stop()
    await target?.close()
  })

  it('refuses every /api read without the token (401), and unknown paths too', async () => {
    for (const path of [
      '/api/scenarios/orders',
      '/api/scenarios',
      '/api/runs',
      '/api/agents',
      '/api/schedules',
      '/api/nothing-here',
      '/docs/json',
    ]) {
      const response = await c.api(path, { token: null })
      expect(response.status, path).toBe(401)
      const text = await response.text()
      expect(JSON.parse(text), path).toMatchObject({ code: 'unauthorized' })
      expectNoSecret(text)
    }
    expect((await c.api('/api/runs', { token: 'wrong-token' })).status).toBe(401)
  })

  it('keeps /healthz and /metrics open', async () => {
    expect((await c.api('/healthz', { token: null })).status).toBe(200)
    const metrics = await c.api('/metrics', { token: null })
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('gauntlet_runs')
  })

  it('shows the stored scenario with its credential values «redacted», everything else as written', async () => {
    const response = await c.api('/api/scenarios/orders')
    expect(response.status).toBe(200)
    const text = await response.text()
    expectNoSecret(text)
    const { yaml } = JSON.parse(text) as { yaml: string }
    expect(yaml).toContain('# a scenario with credentials for its target')
    expect(yaml).toContain('Authorization: "«redacted»"')
    expect(yaml).toContain('x-api-key: "«redacted»"')
    expect(yaml).toContain('cookie: "«redacted»"')
    expect(yaml).toContain('accept: application/json')
    // The PUT's answer shows the same.
    const put = await c.api('/api/scenarios/orders', {
      method: 'PUT',
      body: { yaml: scenarioYaml('orders', target.url) },
    })
    expect(put.status).toBe(200)
    expectNoSecret(await put.text())
  })

  it('runs the stored scenario with its credentials and shows none of them in the run', async () => {
    const started = await c.api('/api/runs', { body: { scenario: 'orders' } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    let run: { status: string } = { status: 'running' }
    let text = ''
    for (let i = 0; i < 150 && run.status === 'running'; i++) {
      text = await (await c.api(`/api/runs/${id}`)).text()
      run = JSON.parse(text) as { status: string }
      if (run.status === 'running') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(run.status).toBe('passed')
    expect(target.authorized()).toBeGreaterThan(0)
    expectNoSecret(text)
    expectNoSecret(await (await c.api('/api/runs')).text())
    expectNoSecret(await (await c.api(`/api/runs/${id}/events`)).text())
  })

  it('is still healthy', async () => {
    expect(await c.healthy()).toBe(true)
  })
})

describe('M4: --public-read', () => {
  it('opens the reads, still redacted, and still needs the token for changes', async () => {
    const c = await startController({ args: ['--public-read'] })
    try {
      expect(
        (
          await c.api('/api/scenarios/orders', {
            method: 'PUT',
            body: { yaml: scenarioYaml('orders', 'http://127.0.0.1:9') },
          })
        ).status,
      ).toBe(201)
      const read = await c.api('/api/scenarios/orders', { token: null })
      expect(read.status).toBe(200)
      const text = await read.text()
      expectNoSecret(text)
      expect(text).toContain('«redacted»')
      for (const path of ['/api/runs', '/api/agents', '/docs/json'])
        expect((await c.api(path, { token: null })).status, path).toBe(200)
      const put = await c.api('/api/scenarios/other', {
        method: 'PUT',
        token: null,
        body: { yaml: scenarioYaml('other', 'http://127.0.0.1:9') },
      })
      expect(put.status).toBe(401)
      expect((await c.api('/api/scenarios/orders', { method: 'DELETE', token: null, body: {} })).status).toBe(401)
      expect((await c.api('/api/scenarios/other', { token: null })).status).toBe(404)
      expect(await c.healthy()).toBe(true)
    } finally {
      await c.stop()
    }
  })
})

describe('M4: the CLI', () => {
  let target: Awaited<ReturnType<typeof credentialTarget>>
  beforeAll(async () => {
    target = await credentialTarget()
  })
  afterAll(async () => {
    await target?.close()
  })

  it('prints no credential and writes none into the summary', async () => {
    const dir = tempDir()
    const file = writeScenario(dir, scenarioYaml('cli', target.url))
    const summaryFile = join(dir, 'summary.json')
    const result = await runCli(['run', file, '--summary', summaryFile, '--db', join(dir, 'g.db')], {
      env: { GAUNTLET_TOKEN: testToken },
    })
    expect(result.code, result.stderr).toBe(0)
    expectNoSecret(result.stdout)
    expectNoSecret(result.stderr)
    const summary = readFileSync(summaryFile, 'utf8')
    expect(JSON.parse(summary)).toMatchObject({ verdict: 'pass' })
    expect(target.authorized()).toBeGreaterThan(0)
    expectNoSecret(summary)
    // `gauntlet validate` prints nothing of them either.
    const validated = await runCli(['validate', file])
    expect(validated.code).toBe(0)
    expectNoSecret(validated.stdout + validated.stderr)
  })
})
