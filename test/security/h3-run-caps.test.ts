import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * H3: no caps. Observed: 30 concurrent runs accepted (RSS 114 -> 721 MB) and a run could target the
 * controller's own POST /api/runs. Now: --max-runs (beyond it 429, nothing stored), --max-run-rps and
 * --max-run-duration refuse a plan naming the flag, and the controller's own address is refused.
 */
describe('H3: run caps', () => {
  let controller: ControllerUnderTest
  let target: Server
  let targetUrl: string

  beforeAll(async () => {
    // A quiet target: the runs below send 2 requests a second.
    target = createServer((_request, response) => response.end('ok'))
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/x`
    controller = await startController({
      args: ['--max-runs', '2', '--max-run-rps', '1000', '--max-run-duration', '10m'],
    })
  })
  afterAll(async () => {
    await controller?.stop()
    target?.closeAllConnections()
    target?.close()
  })

  const scenario = (url: string, steps = '[{ rps: 2, duration: 60s }]') =>
    `name: capped\ntarget: { url: "${url}" }\nload:\n  steps: ${steps}\n`
  const startRun = (url: string, steps?: string) =>
    controller.api('/api/runs', { body: { yaml: scenario(url, steps) } })
  const storedRuns = async (): Promise<Array<{ id: string; status: string; target: string }>> =>
    (await controller.api('/api/runs?limit=1000')).json() as Promise<
      Array<{ id: string; status: string; target: string }>
    >
  const rssMb = (): number =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${controller.process.pid}/status`, 'utf8'))![1]) / 1024

  async function expectProblem(response: Response, status: number, code: string, detail: RegExp): Promise<void> {
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const problem = (await response.json()) as { detail: string }
    expect(problem).toMatchObject({ status, code })
    expect(problem.detail).toMatch(detail)
  }

  it(`runs --max-runs at once; the next ones get 429 and nothing is stored; \
a finished run frees its slot`, async () => {
    const first = await startRun(targetUrl)
    const second = await startRun(targetUrl)
    expect([first.status, second.status]).toEqual([201, 201])
    const running = [((await first.json()) as { id: string }).id, ((await second.json()) as { id: string }).id]

    await expectProblem(await startRun(targetUrl), 429, 'too_many', /2 runs are in progress.*--max-runs 2/)
    // Memory is measured once what legitimately grows has grown: both runs are loading (their load
    // threads are up) and the two YAML threads exist (two refusals at once parse on both).
    for (const id of running) {
      for (
        let i = 0;
        i < 100 && ((await (await controller.api(`/api/runs/${id}/windows`)).json()) as unknown[]).length === 0;
        i++
      )
        await new Promise((r) => setTimeout(r, 100))
    }
    expect((await Promise.all([startRun(targetUrl), startRun(targetUrl)])).map((r) => r.status)).toEqual([429, 429])
    const rssBefore = rssMb()
    // The observed attack: 30 more at once. All refused, none stored, memory flat.
    const flood = await Promise.all(Array.from({ length: 30 }, () => startRun(targetUrl)))
    expect(flood.map((r) => r.status)).toEqual(Array(30).fill(429))
    expect((await storedRuns()).map((r) => r.id).sort()).toEqual([...running].sort())
    const grownMb = rssMb() - rssBefore
    console.log(
      `controller RSS across 30 refused starts: ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(1)} MB (the ` +
        `observed 30 admitted runs: +607 MB)`,
    )
    // An admitted run costs ~20 MB; 30 refused starts must cost less than five of them (GC timing makes the rest
    // noise).
    expect(grownMb).toBeLessThan(100)

    for (const id of running)
      expect((await controller.api(`/api/runs/${id}/abort`, { method: 'POST', body: {} })).status).toBe(202)
    // Bounded poll: aborted runs store their summary within seconds.
    for (let i = 0; i < 100 && (await storedRuns()).some((r) => r.status === 'running'); i++)
      await new Promise((r) => setTimeout(r, 100))
    expect((await storedRuns()).every((r) => r.status === 'aborted')).toBe(true)
    const again = await startRun(targetUrl, '[{ rps: 2, duration: 1s }]')
    expect(again.status).toBe(201)
    expect(await controller.healthy()).toBe(true)
  })

  it.each([
    ['its own address', (url: string) => `${url}/api/runs`],
    ['its own port under the name localhost', (url: string) => `${url.replace('127.0.0.1', 'localhost')}/api/runs`],
  ])('refuses a run whose target is the controller itself (%s) with 403, storing nothing', async (_name, targetOf) => {
    const before = (await storedRuns()).length
    await expectProblem(
      await startRun(targetOf(controller.url), '[{ rps: 1, duration: 1s }]'),
      403,
      'forbidden',
      /this controller's own address/,
    )
    // By a stored scenario with a target override too.
    await controller.api('/api/scenarios/quiet', {
      method: 'PUT',
      body: { yaml: scenario(targetUrl).replace('capped', 'quiet') },
    })
    await expectProblem(
      await controller.api('/api/runs', { body: { scenario: 'quiet', target: targetOf(controller.url) } }),
      403,
      'forbidden',
      /own address/,
    )
    expect((await storedRuns()).length).toBe(before)
    expect(await controller.healthy()).toBe(true)
  })

  it('refuses a plan above --max-run-rps or --max-run-duration with 400 naming the flag, storing nothing', async () => {
    const before = (await storedRuns()).length
    await expectProblem(
      await startRun(targetUrl, '[{ rps: 10, duration: 5s }, { rps: 1001, duration: 5s }]'),
      400,
      'usage',
      /1001 rps; a run may plan at most 1000 rps \(--max-run-rps\)/,
    )
    await expectProblem(
      await startRun(targetUrl, '[{ rps: 1, duration: 6m }, { rps: 1, duration: 5m }]'),
      400,
      'usage',
      /660s in all; a run may last at most 600s \(--max-run-duration\)/,
    )
    expect((await storedRuns()).length).toBe(before)
    expect(await controller.healthy()).toBe(true)
  })
})
