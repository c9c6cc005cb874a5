import type { RunSummary } from '@gauntlet/contracts'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { pollUntil, startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

/**
 * H1: hooks and target metrics are egress, held to allow-lists (GAUNTLET_HOOK_ALLOW,
 * GAUNTLET_TARGET_ALLOW) at validation and again on the address connected to; redirects are never
 * followed. 127.0.0.2 plays the internal host an attacker wants scanned.
 */
describe('H1: egress allow-lists for hooks and targetMetrics', () => {
  const allow = { GAUNTLET_TARGET_ALLOW: '127.0.0.1', GAUNTLET_HOOK_ALLOW: '127.0.0.1' }
  let controller: ControllerUnderTest
  let target: ChildServer
  /** The host nothing may reach: any request it receives is a failure. */
  let internal: RecordingServer
  /** An allowed hook receiver and metrics endpoint that redirect to the internal host. */
  let redirector: RecordingServer

  beforeAll(async () => {
    internal = await startRecordingServer('127.0.0.2', (_, response) =>
      response.writeHead(200, { 'content-type': 'text/plain' }).end('leak_bytes 4242\n'),
    )
    redirector = await startRecordingServer('127.0.0.1', (_, response) =>
      response.writeHead(302, { location: `${internal.url}/` }).end('moved'),
    )
    target = await startDemoTarget('--latency', '1')
    controller = await startController({ env: allow })
  })
  afterAll(async () => {
    await controller?.stop()
    await target?.stop()
    await internal?.close()
    await redirector?.close()
  })

  const scenario = (extra: string): string => `name: egress
target: { url: "${target.url}/" }
load: { steps: [ { rps: 20, duration: 1s } ] }
${extra}
`

  it.each([
    ['a hook', `hooks:\n  postRun: [ { url: "INTERNAL/hook" } ]`, '/hooks/postRun/0/url', 'GAUNTLET_HOOK_ALLOW'],
    [
      'targetMetrics',
      `targetMetrics: { url: "INTERNAL/metrics", series: [leak_bytes], cooldown: 0s }`,
      '/targetMetrics/url',
      'GAUNTLET_TARGET_ALLOW',
    ],
  ])(
    '%s on a host outside its list is refused 403 before a run or scenario is stored',
    async (_what, section, path, variable) => {
      const yaml = scenario(section.replace('INTERNAL', internal.url))
      const runs = await controller.api('/api/runs', { body: { yaml } })
      expect(runs.status).toBe(403)
      expect(runs.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const problem = (await runs.json()) as {
        code: string
        problems: Array<{ path: string; message: string; line: number; column: number }>
      }
      expect(problem.code).toBe('forbidden')
      expect(problem.problems).toEqual([
        {
          path,
          message: expect.stringContaining(`not allowed by ${variable}`) as string,
          line: expect.any(Number) as number,
          column: expect.any(Number) as number,
        },
      ])
      expect(await (await controller.api('/api/runs')).json()).toEqual([])

      const put = await controller.api('/api/scenarios/egress', { method: 'PUT', body: { yaml } })
      expect(put.status).toBe(403)
      expect((await controller.api('/api/scenarios/egress')).status).toBe(404)
      expect(internal.requests).toEqual([])
      expect(await controller.healthy()).toBe(true)
    },
  )

  it('gauntlet validate and gauntlet run refuse it too (exit 2), storing nothing', async () => {
    const dir = tempDir()
    const file = writeScenario(
      dir,
      scenario(
        `hooks:\n  onRollback: [ { url: "${internal.url}/hook" } ]\n` +
          `targetMetrics: { url: "${internal.url}/metrics", series: [leak_bytes] }`,
      ),
    )
    const validate = await runCli(['validate', file], { env: allow })
    expect(validate.code).toBe(2)
    expect(validate.stderr).toMatch(/\/targetMetrics\/url: host 127\.0\.0\.2 is not allowed by GAUNTLET_TARGET_ALLOW/)
    expect(validate.stderr).toMatch(
      /:\d+:\d+ \/hooks\/onRollback\/0\/url: host 127\.0\.0\.2 is not allowed by GAUNTLET_HOOK_ALLOW/,
    )
    const db = join(dir, 'g.db')
    const run = await runCli(['run', file, '--db', db], { env: allow })
    expect(run.code).toBe(2)
    expect(existsSync(db)).toBe(false)
    expect(internal.requests).toEqual([])
  })

  it(`an allowed hook and metrics endpoint that redirect: a failed attempt with its status, \
nothing read from the redirect target`, async () => {
    const yaml = scenario(`hooks:
  postRun: [ { url: "${redirector.url}/hook", retries: 2 } ]
targetMetrics: { url: "${redirector.url}/metrics", series: [leak_bytes], cooldown: 0s }`)
    const started = await controller.api('/api/runs', { body: { yaml } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    const run = await pollUntil(
      async () =>
        (await (await controller.api(`/api/runs/${id}`)).json()) as { status: string; summary: RunSummary | null },
      (r) => r.status !== 'running',
      20_000,
    )
    expect(run.status).not.toBe('running')
    const summary = run.summary!
    // The hook: one attempt, status 302, not retried (a redirect will redirect again), not delivered.
    expect(summary.hooks).toEqual([
      expect.objectContaining({
        event: 'postRun',
        delivered: false,
        attempts: [expect.objectContaining({ status: 302 })],
      }),
    ])
    expect(JSON.stringify(summary.hooks)).not.toContain('moved')
    // The scraper: every scrape failed on the 302, so no value was stored.
    expect(redirector.requests.filter((r) => r.path === '/metrics').length).toBeGreaterThanOrEqual(3)
    expect(summary.targetMetrics).toEqual([expect.objectContaining({ series: 'leak_bytes', scrapes: 0 })])
    expect(summary.warnings.join('\n')).toMatch(/scrape\(s\) of .*\/metrics failed \(last: status 302\)/)
    const series: unknown = await (await controller.api(`/api/runs/${id}/target-metrics`)).json()
    expect(JSON.stringify(series)).not.toContain('4242')
    // The internal host received nothing at all.
    expect(internal.requests).toEqual([])
    expect(await controller.healthy()).toBe(true)
  }, 30_000)
})
