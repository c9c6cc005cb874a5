import type { HookPayload, RunSummary } from '@gauntlet/contracts'
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'

interface Received {
  path: string
  event: string | undefined
  signature: string | undefined
  body: string
  payload: HookPayload
}

/** Hooks against a real local HTTP receiver: which fire when, signed, retried, and recorded. */
describe('run hooks (real receiver)', () => {
  let target: ChildServer
  let receiver: Server
  let base: string
  const received: Received[] = []
  const failuresLeft = new Map<string, number>([['/flaky', 1]])

  beforeAll(async () => {
    // 150 rps capacity: a 100 rps step passes, a 300 rps step sheds half its requests with 503.
    target = await startDemoTarget('--latency', '2', '--capacity', '150', '--overload', 'shed')
    receiver = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        received.push({
          path: request.url!,
          event: request.headers['x-gauntlet-event'] as string,
          signature: request.headers['x-gauntlet-signature'] as string,
          body,
          payload: JSON.parse(body) as HookPayload,
        })
        const left = failuresLeft.get(request.url!) ?? 0
        failuresLeft.set(request.url!, left - 1)
        response.statusCode = left > 0 ? 503 : 204
        response.end()
      })
    }).listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    receiver.close()
    await target.stop()
  })

  it(`fires preStep, onAdvance, onRollback and postRun with evidence, signed, retrying a failing receiver, \
and records every attempt`, async () => {
    const dir = tempDir()
    const file = writeScenario(
      dir,
      `name: hooked
target: { url: "${target.url}/orders" }
load:
  steps: [{ rps: 100, duration: 2s }, { rps: 300, duration: 2s }]
thresholds: ["error_rate < 5%"]
hooks:
  preStep: [{ url: "${base}/pre" }]
  onAdvance: [{ url: "${base}/advance", secret: "\${GAUNTLET_SECRET_HOOK}" }]
  onRollback: [{ url: "${base}/rollback", secret: "\${GAUNTLET_SECRET_HOOK}" }]
  postRun: [{ url: "${base}/flaky", retries: 2 }, { url: "${base}/unsigned", secret: "\${GAUNTLET_SECRET_MISSING}" }]
`,
    )
    const summaryFile = join(dir, 'summary.json')
    const result = await runCli(['run', file, '--db', join(dir, 'g.db'), '--summary', summaryFile], {
      env: { GAUNTLET_SECRET_HOOK: 's3cret', GAUNTLET_SECRET_MISSING: '' },
    })
    expect(result.code, result.stderr).toBe(1)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary

    const by = (path: string) => received.filter((r) => r.path === path)
    expect(by('/pre').map((r) => r.payload.step)).toEqual([0, 1])
    const [advance] = by('/advance')
    expect(advance!.payload).toMatchObject({ event: 'onAdvance', run: summary.runId, scenario: 'hooked', step: 0 })
    expect(advance!.payload.decisions).toMatchObject([
      { guard: 'error_rate < 5%', verdict: 'pass', action: 'advance', evidence: { n: 200 } },
    ])
    // The signature is the HMAC-SHA256 of the exact body with the shared secret.
    expect(advance!.signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(advance!.body).digest('hex')}`)
    const [rollback] = by('/rollback')
    expect(rollback!.payload).toMatchObject({
      event: 'onRollback',
      step: 1,
      decisions: [{ verdict: 'fail', action: 'stop' }],
    })
    expect(rollback!.signature).toBe(`sha256=${createHmac('sha256', 's3cret').update(rollback!.body).digest('hex')}`)
    // postRun: the flaky receiver answered 503 once, the retry got through.
    expect(by('/flaky').map((r) => r.payload)).toMatchObject([
      { event: 'postRun', verdict: 'fail', status: 'failed' },
      { event: 'postRun' },
    ])
    expect(by('/unsigned')).toEqual([])

    const deliveries = summary.hooks!
    expect(deliveries.find((d) => d.url.endsWith('/flaky'))).toMatchObject({
      delivered: true,
      attempts: [{ status: 503 }, { status: 204 }],
    })
    // A missing reference is reported without its name (records are read by more people than the environment).
    expect(deliveries.find((d) => d.url.endsWith('/unsigned'))).toMatchObject({
      delivered: false,
      attempts: [{ error: expect.stringMatching(/secret reference is not set/) as string }],
    })
    expect(JSON.stringify(summary)).not.toContain('GAUNTLET_SECRET_MISSING')
    expect(summary.warnings.join('\n')).toMatch(/hook postRun to .*\/unsigned was not delivered/)
    expect(deliveries.filter((d) => d.delivered)).toHaveLength(5)
  }, 30_000)
})
