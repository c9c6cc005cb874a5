import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { followLines, type LineFollower } from '../helpers/child-server.js'
import { startController, testToken, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * Item 10 of issue 10: what happened can be traced. The controller writes JSON lines (pino) on stderr,
 * one `audit` line per mutation and per refused request: who, what, from where, outcome; never a secret.
 */

interface AuditLine {
  level: number
  msg: string
  audit: { who: string; method: string; route: string; ids?: Record<string, string>; remote: string; status: number }
}

const targetSecret = 'Bearer audit-target-secret-55e1c0'
const scenarioYaml = `name: audited
target:
  url: "http://127.0.0.1:9/"
  headers: { authorization: "${targetSecret}" }
load:
  steps: [{ rps: 1, duration: 1s }]
thresholds: [p99 < 5s]
`

describe('audit log', () => {
  let c: ControllerUnderTest
  let stderr: LineFollower

  beforeAll(async () => {
    c = await startController()
    const exited = new Promise<number | null>((resolve) => c.process.once('exit', (code) => resolve(code)))
    stderr = followLines(
      c.process.stderr!,
      exited,
      (code, pattern) => new Error(`controller exited with ${code} before logging ${pattern}`),
    )
  })
  afterAll(async () => {
    await c?.stop()
  })

  /** Waits for the audit line of this request (method, route, status), then checks it is the only one. */
  async function auditLineOf(method: string, route: string, status: number): Promise<AuditLine> {
    // pino writes the record's keys in the order audit-log.ts builds it: who, method, route, ids, remote, status.
    const escapedRoute = route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    const pattern = new RegExp(
      `"audit":\\{"who":"[^"]*","method":"${method}","route":"${escapedRoute}",` +
        `(?:"ids":\\{[^}]*\\},)?"remote":"[^"]*","status":${status}\\}`,
    )
    const line = await stderr.waitForLine(pattern)
    expect(stderr.lines.filter((l) => pattern.test(l))).toHaveLength(1)
    return JSON.parse(line) as AuditLine
  }

  it('logs a mutation: who (token), what (method, route, id), from where, outcome', async () => {
    const put = await c.api('/api/scenarios/audited', { method: 'PUT', body: { yaml: scenarioYaml } })
    expect(put.status).toBe(201)
    const line = await auditLineOf('PUT', '/api/scenarios/:name', 201)
    expect(line.audit).toEqual({
      who: 'token',
      method: 'PUT',
      route: '/api/scenarios/:name',
      ids: { name: 'audited' },
      remote: '127.0.0.1',
      status: 201,
    })
    expect(line.level).toBe(30)
  })

  it(`logs refused requests as anonymous: no token (401), a foreign Host (403), \
a text/plain mutation (415)`, async () => {
    expect((await c.api('/api/runs', { token: null })).status).toBe(401)
    expect((await auditLineOf('GET', '/api/runs', 401)).audit).toMatchObject({ who: 'anonymous', remote: '127.0.0.1' })

    expect(
      (
        await c.api('/api/runs/r-1/abort', {
          method: 'POST',
          body: '{}',
          token: 'wrong-token',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(401)
    expect((await auditLineOf('POST', '/api/runs/:id/abort', 401)).audit).toMatchObject({
      who: 'anonymous',
      ids: { id: 'r-1' },
    })

    const foreign = await new Promise<number>((resolve, reject) => {
      const port = new URL(c.url).port
      httpRequest(
        `${c.url}/api/scenarios/audited`,
        { method: 'DELETE', headers: { host: `evil.example:${port}`, authorization: `Bearer ${testToken}` } },
        (response) => {
          response.resume()
          resolve(response.statusCode!)
        },
      )
        .on('error', reject)
        .end()
    })
    expect(foreign).toBe(403)
    const forbidden = await auditLineOf('DELETE', '/api/scenarios/:name', 403)
    expect(forbidden.audit).toMatchObject({ who: 'anonymous', ids: { name: 'audited' }, status: 403 })
    expect(forbidden.level).toBe(40)

    // An unsigned "agent" is not who it claims: anonymous, with the name it claimed as the id.
    const beat = await c.api('/api/agents/evil', {
      method: 'PUT',
      token: null,
      body: { url: 'http://127.0.0.1:9/', capacityRps: 1000, version: '0.1.0', runs: [] },
    })
    expect(beat.status).toBe(401)
    expect((await auditLineOf('PUT', '/api/agents/:name', 401)).audit).toMatchObject({
      who: 'anonymous',
      ids: { name: 'evil' },
    })

    expect(
      (
        await c.api('/api/runs', {
          method: 'POST',
          body: JSON.stringify({ scenario: 'audited' }),
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415)
    expect((await auditLineOf('POST', '/api/runs', 415)).audit).toMatchObject({ who: 'token' })
  })

  it('does not log reads that succeed', async () => {
    expect((await c.api('/api/scenarios')).status).toBe(200)
    // The mutation after it is logged; the read before it is not.
    expect((await c.api('/api/scenarios/audited', { method: 'DELETE', body: {} })).status).toBe(204)
    await auditLineOf('DELETE', '/api/scenarios/:name', 204)
    expect(stderr.lines.some((line) => line.includes('"route":"/api/scenarios"'))).toBe(false)
  })

  it('never writes a secret: not the token, not a credential of a scenario, not a body', () => {
    const all = stderr.lines.join('\n')
    expect(stderr.lines.length).toBeGreaterThan(0)
    for (const line of stderr.lines) expect((): unknown => JSON.parse(line), line).not.toThrow()
    expect(all).not.toContain(testToken)
    expect(all).not.toContain('wrong-token')
    expect(all).not.toContain(targetSecret)
    expect(all).not.toContain('thresholds')
  })

  it('keeps the plain `listening` line on stdout and is still healthy', async () => {
    expect(c.lines.some((line) => line.startsWith('listening http://'))).toBe(true)
    expect(c.lines.some((line) => line.startsWith('{'))).toBe(false)
    expect(await c.healthy()).toBe(true)
  })
})
