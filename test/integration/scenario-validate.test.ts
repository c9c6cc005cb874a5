import type { ProblemDetails } from '@gauntlet/http'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inProcessController } from '../helpers/in-process-controller.js'

/** POST /api/scenarios/validate: the checks PUT makes, answered at their line, nothing stored. */
describe('POST /api/scenarios/validate', () => {
  let app: FastifyInstance
  let stop: () => Promise<void>
  const token = 'validate-token'
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

  beforeAll(() => {
    ;({ app, stop } = inProcessController({ env: { GAUNTLET_TOKEN: token } }))
  })
  afterAll(() => stop())

  // Line 5 is the step list: the place the wrong-unit and unknown-key cases break.
  const lines = [
    'name: checkout',
    'target:',
    '  url: "http://127.0.0.1:9/orders"',
    'load:',
    '  steps: [{ rps: 20, duration: 30s }, { rps: 40, duration: 30s }]',
    '  warmup: 5s',
    'thresholds: [p99 < 500ms]',
  ]
  const valid = lines.join('\n') + '\n'
  const withLine5 = (line: string): string => [...lines.slice(0, 4), line, ...lines.slice(5)].join('\n') + '\n'

  const validate = (payload: unknown, auth: Record<string, string> = headers) =>
    app.inject({ method: 'POST', url: '/api/scenarios/validate', headers: auth, payload: payload as object })
  const stored = async () => (await app.inject({ url: '/api/scenarios', headers })).json<unknown[]>()

  it('answers a valid scenario with a summary and stores nothing', async () => {
    const before = await stored()
    const response = await validate({ yaml: valid, name: 'checkout' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      valid: true,
      name: 'checkout',
      steps: 2,
      durationS: 65,
      maxRps: 40,
      faults: 0,
      thresholds: 1,
    })
    expect(await stored()).toEqual(before)
    expect((await app.inject({ url: '/api/scenarios/checkout', headers })).statusCode).toBe(404)
  })

  it.each([
    ['malformed YAML', withLine5('  steps: [{ rps: 20, duration: 30s }]]'), 5],
    ['an unknown key', withLine5('  stepz: [{ rps: 20, duration: 30s }]'), 5],
    ['a wrong unit', withLine5('  steps: [{ rps: 20, duration: 30 parsecs }]'), 5],
    ['a threshold without a unit', valid.replace('p99 < 500ms', 'p99 < 500'), 7],
  ])('answers %s with 422 and the problem at its line', async (_, yaml, line) => {
    const response = await validate({ yaml })
    expect(response.statusCode).toBe(422)
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    const problem = response.json<ProblemDetails>()
    expect(problem.status).toBe(422)
    expect(problem.problems?.length).toBeGreaterThan(0)
    expect(problem.problems!.map((p) => p.line)).toContain(line)
    for (const p of problem.problems!) {
      expect(p.line).toBeGreaterThanOrEqual(1)
      expect(p.column).toBeGreaterThanOrEqual(1)
      expect(p.message).not.toBe('')
    }
  })

  it('holds the scenario to the name it would be stored under, at the name line', async () => {
    const response = await validate({ yaml: valid, name: 'other' })
    expect(response.statusCode).toBe(422)
    expect(response.json<ProblemDetails>().problems).toMatchObject([{ path: '/name', line: 1 }])
  })

  it('refuses a credential sent back as «redacted», as storing does', async () => {
    const yaml = valid.replace('/orders"', '/orders"\n  headers: { authorization: «redacted» }')
    const response = await validate({ yaml })
    expect(response.statusCode).toBe(422)
    expect(response.json<ProblemDetails>().problems).toMatchObject([{ line: 4 }])
    const put = await app.inject({ method: 'PUT', url: '/api/scenarios/checkout', headers, payload: { yaml } })
    expect(put.statusCode).toBe(400)
    expect(await stored()).toEqual([])
    // Escaped, it matches no line of the text: still a problem the editor can show (at the top).
    const escaped = valid.replace('/orders"', '/orders"\n  headers: { authorization: "\\u00ABredacted\\u00BB" }')
    const refused = await validate({ yaml: escaped })
    expect(refused.statusCode).toBe(422)
    expect(refused.json<ProblemDetails>().problems).toMatchObject([{ line: 1, column: 1 }])
  })

  it('refuses an oversized body (413), a missing token (401) and a non-JSON body (415)', async () => {
    expect((await validate({ yaml: 'x'.repeat(3 * 1024 * 1024) })).statusCode).toBe(413)
    expect((await validate({ yaml: valid }, { 'content-type': 'application/json' })).statusCode).toBe(401)
    const text = await app.inject({
      method: 'POST',
      url: '/api/scenarios/validate',
      headers: { authorization: headers.authorization, 'content-type': 'text/plain' },
      payload: valid,
    })
    expect(text.statusCode).toBe(415)
  })

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/docs/json', headers })).json<{ paths: Record<string, object> }>()
    expect(Object.keys(doc.paths['/api/scenarios/validate'] ?? {})).toEqual(['post'])
  })
})
