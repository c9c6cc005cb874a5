import type { RunSummary } from '@gauntlet/contracts'
import { createServer, type Server } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startGauntlet } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { listenOnFreePort } from '../helpers/generator.js'

/**
 * target.expect and followRedirects through a real controller: the check class reaches the step's
 * summary and `check_rate` in thresholds, a followed redirect makes a run pass, and a bad status item is
 * named with its path and file:line:col.
 */

interface RunView {
  status: string
  verdict: string | null
  summary: RunSummary | null
}

describe('response checks in a run', () => {
  let controller: ControllerUnderTest
  let target: Server
  let port = 0
  /** What the target answered, by kind: the test's ground truth. */
  const answered = { created: 0, pending: 0, redirect: 0, final: 0 }

  beforeAll(async () => {
    let n = 0
    target = createServer((request, response) => {
      if (request.url === '/via') {
        answered.redirect++
        response.writeHead(302, { location: '/' }).end()
      } else if (request.url === '/old') {
        answered.redirect++
        response.writeHead(301, { location: '/orders' }).end()
      } else if (request.url === '/orders') {
        answered.final++
        response.end('{"status":"created"}')
      } else if (n++ % 2 === 0) {
        answered.created++
        response.end('{"status":"created"}')
      } else {
        answered.pending++
        response.end('{"status":"pending"}')
      }
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
  async function runToEnd(path: string, extraTarget: string[], thresholds: string[]): Promise<RunView> {
    const yaml = [
      'name: response-checks',
      'target:',
      `  url: http://127.0.0.1:${port}${path}`,
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

  it('fails check_rate < 1% when half the bodies lack the text, counting exactly the ones the target sent', async () => {
    const run = await runToEnd(
      '/',
      ['expect: { status: [\'2xx\'], bodyContains: \'"status":"created"\' }'],
      ['check_rate < 1%'],
    )
    expect(run.status).toBe('failed')
    const step = run.summary!.steps[0]!
    expect(answered.created + answered.pending).toBe(40)
    expect(step.errorsByClass.check).toBe(answered.pending)
    expect(step.thresholds[0]).toMatchObject({ threshold: 'check_rate < 1%', pass: false, observed: 0.5 })
  })

  it('passes a run whose redirects are followed to a checked final answer, each hop reaching the target', async () => {
    const before = { ...answered }
    const run = await runToEnd(
      '/old',
      ['followRedirects: true', "expect: { bodyContains: 'created' }"],
      ['error_rate < 1%', 'check_rate < 1%', 'http_3xx_rate < 1%'],
    )
    expect(run.status).toBe('passed')
    expect(answered.redirect - before.redirect).toBe(40)
    expect(answered.final - before.final).toBe(40)
    expect(run.summary!.steps[0]!.thresholds.map((t) => t.pass)).toEqual([true, true, true])
  })

  it('carries the checks and followRedirects to a remote agent (the assignment over HTTP)', async () => {
    const secret = { GAUNTLET_AGENT_SECRET: 'checks-only-7c21' }
    const db = join(tempDir(), 'remote.db')
    const remote = await startGauntlet(['controller', '--port', '0', '--db', db, '--agents', 'remote'], secret)
    const agent = await startGauntlet(['agent', '--controller', remote.url, '--name', 'a1'], secret)
    try {
      await agent.waitForLine(/registered with/)
      const before = { ...answered }
      const yaml = [
        'name: remote-checks',
        'target:',
        `  url: http://127.0.0.1:${port}/via`,
        '  followRedirects: true',
        "  expect: { status: ['200-204'], bodyContains: created, header: { Content-Length: '' } }",
        'load:',
        '  steps: [{ rps: 20, duration: 2s }]',
        'thresholds: [check_rate < 1%]',
        '',
      ].join('\n')
      const client = new ControllerClient(remote.url, undefined)
      const id = await client.startRun(yaml, undefined)
      let summary: RunSummary | undefined
      for await (const event of client.follow(id)) {
        if (event.event === 'status' && event.data.status !== 'running') {
          summary = event.data.summary!
          break
        }
      }
      // Every request was redirected to the half-and-half route: the pending half failed its body check.
      expect(answered.redirect - before.redirect).toBe(40)
      expect(answered.created - before.created + answered.pending - before.pending).toBe(40)
      expect(summary?.verdict).toBe('fail')
      expect(summary?.steps[0]?.errorsByClass).toMatchObject({ status: {}, check: answered.pending - before.pending })
    } finally {
      await agent.stop()
      await remote.stop()
    }
  })

  it('names a bad status item with its path and file:line:col', async () => {
    const file = writeScenario(
      tempDir(),
      [
        'name: bad-status',
        'target:',
        '  url: http://127.0.0.1:9/',
        "  expect: { status: [200, '299-200', '6xx', abc] }",
        'load:',
        '  steps: [{ rps: 1, duration: 1s }]',
        '',
      ].join('\n'),
    )
    const result = await runCli(['validate', file])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/scenario\.yaml:4:27 \/target\/expect\/status\/1: "299-200" runs backwards/),
      expect.stringMatching(/scenario\.yaml:4:38 \/target\/expect\/status\/2: "6xx" is not a status class/),
      expect.stringMatching(/scenario\.yaml:4:45 \/target\/expect\/status\/3: expected a status \(100-599\), a range/),
    ])
  })
})
