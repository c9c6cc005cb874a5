import type { RunSummary } from '@gauntlet/contracts'
import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { pollUntil, startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

/**
 * M5: a hook secret is a reference to a GAUNTLET_SECRET_* variable, nothing else: a literal (stored
 * and shown with the scenario) and any other variable (the API token) are refused by validation, and a
 * reference that is not set is reported without its name.
 */
describe('M5: hook secrets are GAUNTLET_SECRET_ references', () => {
  let controller: ControllerUnderTest
  let target: ChildServer
  let receiver: RecordingServer

  beforeAll(async () => {
    receiver = await startRecordingServer('127.0.0.1', (_, response) => response.writeHead(204).end())
    target = await startDemoTarget('--latency', '1')
    controller = await startController({ env: { GAUNTLET_SECRET_SIGNING: 'hook-key-91c2' } })
  })
  afterAll(async () => {
    await controller?.stop()
    await target?.stop()
    await receiver?.close()
  })

  const scenario = (secret: string): string => `name: hooked
target: { url: "${target.url}/" }
load: { steps: [ { rps: 20, duration: 1s } ] }
hooks:
  postRun:
    - { url: "${receiver.url}/done", secret: "${secret}" }
`

  it.each([
    ['a literal secret', 'hunter2-literal'],
    ['a reference to the API token', '${GAUNTLET_TOKEN}'],
    ['a reference to any other variable', '${HOME}'],
  ])('%s is refused with its path and line:column, for runs and stored scenarios', async (_what, secret) => {
    for (const [path, method, body] of [
      ['/api/runs', 'POST', { yaml: scenario(secret) }],
      ['/api/scenarios/hooked', 'PUT', { yaml: scenario(secret) }],
    ] as const) {
      const response = await controller.api(path, { method, body })
      expect(response.status).toBe(400)
      const text = await response.text()
      expect(text).not.toContain('hunter2')
      const problem = JSON.parse(text) as {
        code: string
        problems: Array<{ path: string; message: string; line: number; column: number }>
      }
      expect(problem.code).toBe('invalid_scenario')
      expect(problem.problems).toEqual([
        {
          path: '/hooks/postRun/0/secret',
          message: expect.stringContaining('GAUNTLET_SECRET_') as string,
          line: 6,
          column: expect.any(Number) as number,
        },
      ])
    }
    expect(await (await controller.api('/api/runs')).json()).toEqual([])
    expect((await controller.api('/api/scenarios/hooked')).status).toBe(404)
    expect(await controller.healthy()).toBe(true)
  })

  it('an unset reference is not sent and is reported without its name; a set one signs', async () => {
    const yaml =
      `${scenario('${GAUNTLET_SECRET_NEVER_SET}')}    - { url: "${receiver.url}/signed", secret: ` +
      `"\${GAUNTLET_SECRET_SIGNING}" }\n`
    const started = await controller.api('/api/runs', { body: { yaml } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    const run = await pollUntil(
      async () =>
        (await (await controller.api(`/api/runs/${id}`)).json()) as { status: string; summary: RunSummary | null },
      (r) => r.status !== 'running',
      20_000,
    )
    const hooks = run.summary!.hooks!
    const unset = hooks.find((h) => h.url.endsWith('/done'))!
    expect(unset).toMatchObject({
      delivered: false,
      attempts: [{ error: expect.stringMatching(/secret reference is not set; not sent unsigned/) as string }],
    })
    // Neither the record nor anything else the API answers names the variable.
    expect(JSON.stringify(run)).not.toContain('NEVER_SET')
    expect(receiver.requests.filter((r) => r.path === '/done')).toEqual([])

    expect(hooks.find((h) => h.url.endsWith('/signed'))).toMatchObject({ delivered: true, attempts: [{ status: 204 }] })
    const [signed] = receiver.requests.filter((r) => r.path === '/signed')
    expect(signed!.headers['x-gauntlet-signature']).toBe(
      `sha256=${createHmac('sha256', 'hook-key-91c2').update(signed!.body).digest('hex')}`,
    )
    expect(await controller.healthy()).toBe(true)
  }, 30_000)
})
