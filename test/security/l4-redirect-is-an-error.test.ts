import type { RunSummary } from '@gauntlet/contracts'
import { createServer, type Server } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { listenOnFreePort } from '../helpers/generator.js'

/**
 * L4: a 3xx counted as success, so a run against a redirecting target passed. A real controller loads a
 * target of ours that answers every request with 302: the redirect is an error of its class (never
 * followed), `http_3xx_rate` works in thresholds, and `target.expect: { status: [302] }` makes it pass.
 */

interface RunView {
  status: string
  verdict: string | null
  summary: RunSummary | null
}

describe('L4: a redirect is an error unless the scenario expects it', () => {
  let controller: ControllerUnderTest
  let target: Server
  let port = 0
  const paths: string[] = []

  beforeAll(async () => {
    target = createServer((request, response) => {
      paths.push(request.url ?? '')
      response.writeHead(302, { location: '/moved' }).end()
    })
    port = await listenOnFreePort(target)
    controller = await startController()
  })
  afterAll(async () => {
    await controller?.stop()
    target?.closeAllConnections()
    target?.close()
  })

  /** Starts a 2 s, 20 rps run of an inline scenario and polls until it has ended (bounded). */
  async function runToEnd(extraTarget: string[], thresholds: string[]): Promise<RunView> {
    const yaml = [
      'name: l4-redirect',
      'target:',
      `  url: http://127.0.0.1:${port}/`,
      ...extraTarget.map((line) => `  ${line}`),
      'load:',
      '  steps: [{ rps: 20, duration: 2s }]',
      'thresholds:',
      ...thresholds.map((t) => `  - "${t}"`),
      '',
    ].join('\n')
    const started = await controller.api('/api/runs', { body: { yaml } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const run = (await (await controller.api(`/api/runs/${id}`)).json()) as RunView
      if (run.status !== 'running') return run
      await delay(200)
    }
    throw new Error(`run ${id} did not end within 30 s`)
  }

  it(`fails error_rate < 1% against a target that redirects, counting the 302s as errors, \
never following them`, async () => {
    const run = await runToEnd([], ['error_rate < 1%'])
    expect(run.status).toBe('failed')
    expect(run.verdict).toBe('fail')
    const step = run.summary!.steps[0]!
    expect(step.errorsByClass.status['302']).toBeGreaterThanOrEqual(30)
    expect(step.thresholds[0]).toMatchObject({ threshold: 'error_rate < 1%', pass: false })
    expect(paths.every((path) => path === '/')).toBe(true)
  })

  it('measures http_3xx_rate in thresholds', async () => {
    const run = await runToEnd([], ['http_3xx_rate < 1%'])
    expect(run.status).toBe('failed')
    expect(run.summary!.steps[0]!.thresholds[0]).toMatchObject({
      threshold: 'http_3xx_rate < 1%',
      pass: false,
      observed: 1,
    })
  })

  it('passes the same run when the scenario expects 302', async () => {
    const run = await runToEnd(['expect: { status: [302] }'], ['error_rate < 1%', 'http_3xx_rate < 1%'])
    expect(run.status).toBe('passed')
    const step = run.summary!.steps[0]!
    expect(step.errorsByClass.status).toEqual({})
    expect(step.thresholds.map((t) => t.pass)).toEqual([true, true])
    expect(await controller.healthy()).toBe(true)
  })
})
