import type { RunSummary } from '@gauntlet/contracts'
import type { ProblemDetails } from '@gauntlet/http'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunDetail, RunListItem } from '../../apps/controller/src/run/run-queries.js'
import type { RunWindow } from '../../apps/controller/src/http/api-schemas.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { inProcessController } from '../helpers/in-process-controller.js'

/** An event's data: a window, a step, a decision, or a status with the summary once the run ended. */
type EventData = Record<string, unknown> & { status?: string; summary?: RunSummary | null }

/** The part of the OpenAPI document this test reads. */
interface OpenApiDocument {
  openapi: string
  paths: Record<
    string,
    Record<string, { requestBody: { content: Record<string, { schema: { properties: object } }> } }>
  >
}

/** The controller's REST API on a real SQLite file, running real load against the demo target. */
describe('controller REST API', () => {
  let target: ChildServer
  let app: FastifyInstance
  let store: SqliteStore
  let stopController: () => Promise<void>
  let base: string
  const token = 'test-token'
  const auth = { authorization: `Bearer ${token}` }
  /** A bodiless mutation (DELETE, abort) still says it is JSON: mutations of another content type are refused (415). */
  const authJson = { ...auth, 'content-type': 'application/json' }

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
    ;({ store, app, stop: stopController } = inProcessController({ publicRead: true, env: { GAUNTLET_TOKEN: token } }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await stopController()
    await target.stop()
  })

  const yaml = (name: string, steps = '[{ rps: 50, duration: 2s }]', extra = '') =>
    `name: ${name}\ntarget: { url: "${target.url}/orders" }\nload:\n  steps: ${steps}\nthresholds: [p99 < ` +
    `500ms]\n${extra}`

  /** Reads a server-sent event stream to its end, as a list of {event, data}. */
  async function events(runId: string): Promise<Array<{ event: string; data: EventData }>> {
    const response = await fetch(`${base}/api/runs/${runId}/events`)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const text = await response.text()
    return text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [eventLine, dataLine] = block.split('\n')
        return {
          event: eventLine!.replace('event: ', ''),
          data: JSON.parse(dataLine!.replace('data: ', '')) as EventData,
        }
      })
  }

  it('publishes its OpenAPI document at /docs/json and a browsable page at /docs', async () => {
    const doc = (await app.inject('/docs/json')).json<OpenApiDocument>()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/runs',
        '/api/runs/{id}',
        '/api/runs/{id}/events',
        '/api/scenarios/{name}',
        '/api/schedules',
        '/metrics',
      ]),
    )
    expect(doc.paths['/api/runs']?.post?.requestBody.content['application/json']?.schema.properties).toHaveProperty(
      'yaml',
    )
    const page = await app.inject('/docs')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/text\/html/)
  })

  it('answers /healthz and /metrics', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    const metrics = await app.inject('/metrics')
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/)
    expect(metrics.body).toMatch(/^gauntlet_runs\{status="passed"\} \d+$/m)
    expect(metrics.body).toMatch(/^gauntlet_runs_active 0$/m)
  })

  it('stores scenarios validated, with problems located in the YAML', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/api/scenarios/orders',
      headers: auth,
      payload: { yaml: yaml('orders') },
    })
    expect(put.statusCode).toBe(201)
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/api/scenarios/orders',
          headers: auth,
          payload: { yaml: yaml('orders') },
        })
      ).statusCode,
    ).toBe(200)
    expect((await app.inject('/api/scenarios')).json()).toEqual([
      { name: 'orders', updatedAt: expect.any(String) as unknown },
    ])
    expect((await app.inject('/api/scenarios/orders')).json<{ yaml: string }>().yaml).toBe(yaml('orders'))

    const bad = await app.inject({
      method: 'PUT',
      url: '/api/scenarios/bad',
      headers: auth,
      payload: { yaml: yaml('bad').replace('p99 < 500ms', 'p99 < 500') },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(bad.json()).toMatchObject({
      status: 400,
      code: 'invalid_scenario',
      problems: [{ path: '/thresholds/0', line: 5, column: 14 }],
    })

    const mismatch = await app.inject({
      method: 'PUT',
      url: '/api/scenarios/other',
      headers: auth,
      payload: { yaml: yaml('orders') },
    })
    expect(mismatch.statusCode).toBe(400)
    expect(mismatch.json<ProblemDetails>().detail).toMatch(/named "orders" but was sent to \/api\/scenarios\/other/)

    expect((await app.inject({ method: 'DELETE', url: '/api/scenarios/orders', headers: authJson })).statusCode).toBe(
      204,
    )
    const gone = await app.inject({ method: 'DELETE', url: '/api/scenarios/orders', headers: authJson })
    expect(gone.statusCode).toBe(404)
    expect(gone.json()).toMatchObject({ code: 'not_found', title: 'Not Found' })
  })

  it(`runs a stored scenario: 201 with an id, live events until the \
verdict, then the summary, windows and list`, async () => {
    await app.inject({ method: 'PUT', url: '/api/scenarios/quick', headers: auth, payload: { yaml: yaml('quick') } })
    const started = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: auth,
      payload: { scenario: 'quick' },
    })
    expect(started.statusCode).toBe(201)
    const { id, status } = started.json<{ id: string; status: string }>()
    expect(status).toBe('running')
    expect(started.headers.location).toBe(`/api/runs/${id}`)

    const stream = await events(id)
    expect(stream[0]).toEqual({ event: 'status', data: { status: 'running', summary: null } })
    expect(stream.filter((e) => e.event === 'window')).toHaveLength(2)
    expect(stream.filter((e) => e.event === 'step').map((e) => e.data.verdict)).toEqual(['pass'])
    // The step's decision, with its evidence, live and stored. 100 samples cannot bound a p99 at 95%:
    // the threshold is met on its estimate only (insufficient), so the step advances with a warning.
    const decided = stream.filter((e) => e.event === 'decision').map((e) => e.data)
    expect(decided).toMatchObject([
      {
        step: 0,
        guard: 'p99 < 500ms',
        verdict: 'insufficient',
        action: 'advance',
        evidence: { n: 100, limit: 500, windowStart: 0, windowEnd: 2 },
      },
    ])
    expect((await app.inject(`/api/runs/${id}/decisions`)).json()).toEqual(decided)
    const last = stream[stream.length - 1]!
    expect(last.event).toBe('status')
    expect(last.data.status).toBe('passed')

    const run = (await app.inject(`/api/runs/${id}`)).json<RunDetail>()
    expect(run).toMatchObject({ id, scenario: 'quick', status: 'passed', verdict: 'pass', capacityRps: 50 })
    expect(run.summary!.steps[0]).toMatchObject({ sent: 100, errors: 0 })
    // The response schema drops nothing: the summary reads as stored, every field of it.
    const stored = store.getRun(id)!
    expect(run).toEqual({
      id,
      scenario: 'quick',
      target: stored.target,
      status: 'passed',
      createdAt: stored.createdAt,
      finishedAt: stored.finishedAt,
      verdict: 'pass',
      capacityRps: 50,
      agents: ['in-process'],
      summary: stored.summary,
      plan: { steps: [{ index: 0, plannedRps: 50, durationS: 2 }] },
    })
    expect(last.data.summary).toEqual(stored.summary)
    const windows = (await app.inject(`/api/runs/${id}/windows`)).json<RunWindow[]>()
    expect(windows.map((w) => w.index)).toEqual([0, 1])
    expect(windows[0]!.latencyMs.p99Ms).toBeGreaterThan(0)
    expect(
      (await app.inject(`/api/runs?status=passed&scenario=quick`)).json<RunListItem[]>().map((r) => r.id),
    ).toContain(id)
    expect((await app.inject(`/api/runs?status=failed&scenario=quick`)).json()).toEqual([])

    // A finished run's event stream is its final status.
    expect(await events(id)).toEqual([
      { event: 'status', data: expect.objectContaining({ status: 'passed' }) as unknown },
    ])
  })

  it('aborts a running run: 202, then the run is judged on what it saw and never passed', async () => {
    const started = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: auth,
      payload: { yaml: yaml('long', '[{ rps: 20, duration: 2s }, { rps: 20, duration: 60s }]') },
    })
    const { id } = started.json<{ id: string }>()
    const stream = events(id)
    // Abort once the first step has been judged (its windows are in).
    for (let i = 0; i < 100 && store.windows(id).length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 50))
    const abort = await app.inject({ method: 'POST', url: `/api/runs/${id}/abort`, headers: authJson })
    expect(abort.statusCode).toBe(202)
    const last = (await stream).at(-1)!
    expect(last.data.status).toBe('aborted')
    expect(last.data.summary?.verdict).toBe('error')
    expect((await app.inject(`/api/runs/${id}`)).json<RunDetail>().status).toBe('aborted')
    const again = await app.inject({ method: 'POST', url: `/api/runs/${id}/abort`, headers: authJson })
    expect(again.statusCode).toBe(409)
    expect(again.json<ProblemDetails>().code).toBe('conflict')
  })

  it.each([
    ['neither scenario nor yaml', {}, 400, 'usage'],
    ['both', { scenario: 'x', yaml: 'name: x' }, 400, 'usage'],
    ['an unknown scenario', { scenario: 'nope' }, 404, 'not_found'],
    ['an invalid inline scenario', { yaml: 'name: x\n' }, 400, 'invalid_scenario'],
    ['an unknown field', { yaml: 'name: x', colour: 'blue' }, 400, 'usage'],
    [
      'a bad target override',
      {
        yaml: 'name: x\ntarget: { url: "http://127.0.0.1:1/" }\nload: { steps: [{ rps: 1, duration: 1s }] }\n',
        target: 'ftp://x',
      },
      400,
      'usage',
    ],
  ])('refuses to start a run with %s (problem+json)', async (_name, payload, status, code) => {
    const response = await app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload })
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(response.json()).toMatchObject({ status, code })
  })

  it(`refuses a run whose decision section is wrong with problem+json \
naming the field, and stores no run`, async () => {
    const before = store.listRuns({ limit: 1000 }).length
    const text =
      'name: gated\ntarget: { url: "http://127.0.0.1:1/" }\nload: { steps: [{ rps: 1, duration: 10s }] ' +
      '}\ndecision:\n  guards:\n    - { name: g, kind: slo, require: "p99 < 1s", trip: { m: 4, n: 3 } }\n'
    const response = await app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { yaml: text } })
    expect(response.statusCode).toBe(400)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(response.json()).toMatchObject({
      code: 'invalid_scenario',
      problems: [{ path: '/decision/guards/0/trip/m', message: 'm (4) cannot exceed n (3)', line: 6 }],
    })
    expect(store.listRuns({ limit: 1000 })).toHaveLength(before)
  })

  it(`refuses targets outside GAUNTLET_TARGET_ALLOW (loopback only by \
default) with 403, before creating a run`, async () => {
    const before = store.listRuns({ limit: 1000 }).length
    const response = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: auth,
      payload: { yaml: yaml('far'), target: 'http://10.0.0.1/' },
    })
    expect(response.statusCode).toBe(403)
    expect(response.json()).toMatchObject({
      code: 'target_not_allowed',
      detail: expect.stringMatching(/target host 10\.0\.0\.1 is not allowed by GAUNTLET_TARGET_ALLOW/) as unknown,
    })
    expect(store.listRuns({ limit: 1000 })).toHaveLength(before)
  })

  it('requires the bearer token for changes, not for reads with --public-read', async () => {
    const denied = await app.inject({ method: 'POST', url: '/api/runs', payload: { scenario: 'x' } })
    expect(denied.statusCode).toBe(401)
    expect(denied.json()).toMatchObject({ code: 'unauthorized' })
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/api/scenarios/x',
          headers: { authorization: 'Bearer wrong' },
          payload: { yaml: 'x' },
        })
      ).statusCode,
    ).toBe(401)
    expect((await app.inject('/api/runs')).statusCode).toBe(200)
  })

  it('answers malformed bodies, oversized bodies and unknown routes with problem+json', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"yaml":',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/)
    const huge = await app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: auth,
      payload: { yaml: 'x'.repeat(3 * 1024 * 1024) },
    })
    expect(huge.statusCode).toBe(413)
    const unknown = await app.inject('/api/nothing-here')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ code: 'not_found' })
    const missingRun = await app.inject('/api/runs/does-not-exist')
    expect(missingRun.json()).toMatchObject({ status: 404, detail: 'no run with id "does-not-exist"' })
    // An id outside the ids the controller makes is a usage problem that names the parameter, not a 404.
    for (const url of [
      '/api/runs/no.such.run',
      '/api/runs/%24x/windows',
      '/api/schedules/a%20b',
      '/api/runs/-x/abort',
    ]) {
      const bad = await app.inject({ method: url.endsWith('abort') ? 'POST' : 'GET', url, headers: authJson })
      expect(bad.statusCode).toBe(400)
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(bad.json()).toMatchObject({ code: 'usage', problems: [{ path: '/params/id' }] })
    }
  })
})
