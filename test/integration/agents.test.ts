import type { RunSummary, WindowReport } from '@gauntlet/contracts'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startDemoTarget, startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { expectFirstStepHeld } from '../helpers/buckets.js'
import { tempDir } from '../helpers/cli.js'

/**
 * Controller and agents as separate real processes on port 0, talking HTTP: a shared ramp, the loss
 * of an agent (kill -9), and the loss of the controller (kill -9).
 */
describe('remote agents (real processes)', () => {
  let target: ChildServer
  const started: ChildServer[] = []
  const secret = { GAUNTLET_AGENT_SECRET: 'agents-only-3f9a' }

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '20')
  })
  afterAll(async () => {
    await target.stop()
  })
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()))
  })

  async function controller(db = join(tempDir(), 'c.db'), ...flags: string[]): Promise<ChildServer> {
    const c = await startGauntlet(['controller', '--port', '0', '--db', db, ...flags], secret)
    started.push(c)
    return c
  }
  async function agent(controllerUrl: string, name: string, ...flags: string[]): Promise<ChildServer> {
    const a = await startGauntlet(['agent', '--controller', controllerUrl, '--name', name, ...flags], secret)
    started.push(a)
    await a.waitForLine(/registered with/)
    return a
  }
  /** Starts a run over REST and follows its events to the end; `onWindow` sees each merged window as it comes. */
  async function run(
    controllerUrl: string,
    yaml: string,
    onWindow: (w: WindowReport) => void = () => {},
  ): Promise<{ summary: RunSummary; windows: WindowReport[] }> {
    const client = new ControllerClient(controllerUrl, undefined)
    const id = await client.startRun(yaml, undefined)
    const windows: WindowReport[] = []
    for await (const event of client.follow(id)) {
      if (event.event === 'window') {
        windows.push(event.data)
        onWindow(event.data)
      }
      if (event.event === 'status' && event.data.status !== 'running') return { summary: event.data.summary!, windows }
    }
    throw new Error('event stream ended without a final status')
  }
  const scenario = (name: string, steps: string, extra = '') =>
    `name: ${name}\ntarget: { url: "${target.url}/orders" }\n` +
    `load:\n  steps: ${steps}\nthresholds: ["p99 < 1s"]\n${extra}`

  it('two agents share a ramp on one timeline and measure what one agent measures alone', async () => {
    const yaml = scenario(
      'ramp',
      '[{ rps: 100, duration: 3s }, { rps: 200, duration: 3s }, { rps: 300, duration: 3s }]',
    )
    const db = join(tempDir(), 'c.db')
    const c = await controller(db)
    await agent(c.url, 'a1', '--capacity', '1000')
    await agent(c.url, 'a2', '--capacity', '1000')
    const agents = (await (await fetch(`${c.url}/api/agents`)).json()) as Array<{
      name: string
      state: string
      capacityRps: number
    }>
    expect(agents.map((a) => [a.name, a.state, a.capacityRps])).toEqual([
      ['a1', 'ready', 1000],
      ['a2', 'ready', 1000],
    ])

    let two = await run(c.url, yaml)
    expect(two.summary.status).toBe('passed')
    expect(two.summary.agents?.map((a) => a.name)).toEqual(['a1', 'a2'])
    expect(two.summary.degraded).toBeUndefined()
    expect(two.windows).toHaveLength(9)
    for (const w of two.windows) {
      expect(w.agents).toBe(2)
      // Both agents started every second within 50 ms of each other (here: of the same host clock).
      expect(w.skewMs).toBeLessThanOrEqual(50)
      expect(Math.abs(w.sent - w.planned)).toBeLessThanOrEqual(Math.max(2, w.planned * 0.02))
    }
    const stored = (await (await fetch(`${c.url}/api/runs/${two.summary.runId}/windows`)).json()) as WindowReport[]
    expect(stored.map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    // Each agent's own windows are kept too, with their percentiles from ingest (paging `?agent=` decodes
    // nothing), and add up to the merged ones.
    const file = new Database(db, { readonly: true })
    const agentRows = file
      .prepare('SELECT agent, latency_ms_json AS latencyMs FROM agent_windows WHERE run_id = ?')
      .all(two.summary.runId) as Array<{ agent: string; latencyMs: string | null }>
    file.close()
    expect(agentRows).toHaveLength(18)
    expect(agentRows.filter((row) => row.latencyMs === null)).toEqual([])
    const own = async (name: string) =>
      (await (await fetch(`${c.url}/api/runs/${two.summary.runId}/windows?agent=${name}`)).json()) as WindowReport[]
    const [w1, w2] = [await own('a1'), await own('a2')]
    expect(w1).toHaveLength(9)
    expect(stored.map((w, i) => w.dispatched - w1[i]!.dispatched - w2[i]!.dispatched)).toEqual(Array(9).fill(0))
    expect(w1.reduce((n, w) => n + w.dispatched, 0)).toBe(w2.reduce((n, w) => n + w.dispatched, 0))
    // After a run's worth of heartbeats each agent reports its clock estimate: on one host the offset is
    // ~0, and the uncertainty (half the best round trip) bounds how well seconds line up across hosts.
    const clocks = (
      (await (await fetch(`${c.url}/api/agents`)).json()) as Array<{
        clock?: { offsetMs: number; uncertaintyMs: number }
      }>
    ).map((a) => a.clock)
    for (const clock of clocks) {
      expect(clock!.uncertaintyMs).toBeLessThanOrEqual(50)
      expect(Math.abs(clock!.offsetMs)).toBeLessThanOrEqual(50)
    }
    console.log(`agent clocks: ${JSON.stringify(clocks)}`)

    // The same total from the controller's embedded agent alone.
    const solo = await controller(join(tempDir(), 'solo.db'), '--agents', 'local')
    let one = await run(solo.url, yaml)
    expect(one.summary.agents).toBeUndefined()
    // 20 ms target: merged histograms give the same median and p90 as one generator (within noise).
    const latencyGaps = (twoSteps: RunSummary['steps'], oneSteps: RunSummary['steps']): string[] =>
      twoSteps.flatMap((step, i) => {
        const alone = oneSteps[i]!
        const p50 = Math.abs(step.p50Ms! - alone.p50Ms!) <= Math.max(2, alone.p50Ms! * 0.1)
        const p90 = Math.abs(step.p90Ms! - alone.p90Ms!) <= Math.max(4, alone.p90Ms! * 0.2)
        return p50 && p90
          ? []
          : [`step ${i + 1}: two agents p50/p90 ${step.p50Ms}/${step.p90Ms} ms, one ${alone.p50Ms}/${alone.p90Ms} ms`]
      })
    for (const [i, step] of two.summary.steps.entries()) {
      expect(step.sent).toBe(one.summary.steps[i]!.sent)
      expect(step.achievedRps).toBeCloseTo(one.summary.steps[i]!.achievedRps, -1)
    }
    // Three busy processes share two cores here: a tail spike in one round is re-measured once, both
    // ways, and the second round must meet the same bounds (as the fidelity test does).
    let gaps = latencyGaps(two.summary.steps, one.summary.steps)
    if (gaps.length > 0) {
      console.log(`latency round 1 outside the bounds, measuring again: ${gaps.join('; ')}`)
      two = await run(c.url, yaml)
      one = await run(solo.url, yaml)
      gaps = latencyGaps(two.summary.steps, one.summary.steps)
    }
    expect(gaps).toEqual([])
  }, 90_000)

  it(`kill -9 of an agent mid-run: its share moves to the survivor, the gap is recorded, \
the run is degraded and ends`, async () => {
    const c = await controller()
    await agent(c.url, 'a1')
    const doomed = await agent(c.url, 'a2')
    const { summary, windows } = await run(c.url, scenario('loss', '[{ rps: 200, duration: 12s }]'), (w) => {
      if (w.index === 1) doomed.process.kill('SIGKILL')
    })
    expect(summary.degraded).toBe(true)
    expect(summary.steps[0]!.degraded).toBe(true)
    expect(summary.warnings.join('\n')).toMatch(/DEGRADED: agent a2 was lost/)
    const [loss] = summary.agentLosses!
    expect(loss).toMatchObject({
      agent: 'a2',
      reason: 'no heartbeat for 3 s',
      redistributedFrom: expect.any(Number) as number,
    })
    // Declared lost 3 s after its last heartbeat, its share moved at the next second that could change.
    const from = loss!.redistributedFrom!
    expect(from).toBeGreaterThan(loss!.lastWindow + 1)
    expect(from).toBeLessThanOrEqual(loss!.lastWindow + 7)
    expect(windows).toHaveLength(12)
    for (const w of windows) {
      if (w.index > loss!.lastWindow && w.index < from) {
        expect(w.missingAgents).toEqual(['a2'])
        expect(w.sent).toBeLessThan(w.planned * 0.75)
      }
      if (w.index >= from) {
        // The survivor carries the full rate from there on.
        expect(w.missingAgents).toBeUndefined()
        expect(w.planned).toBe(200)
        expect(Math.abs(w.sent - 200)).toBeLessThanOrEqual(4)
      }
    }
    expect(loss!.gapWindows).toBe(from - loss!.lastWindow - 1)
  }, 60_000)

  it('with onAgentLoss: abort, losing an agent stops the run (never a pass)', async () => {
    const c = await controller()
    await agent(c.url, 'a1')
    const doomed = await agent(c.url, 'a2')
    const { summary } = await run(
      c.url,
      scenario('loss-abort', '[{ rps: 100, duration: 30s }]', 'onAgentLoss: abort\n'),
      (w) => {
        if (w.index === 1) doomed.process.kill('SIGKILL')
      },
    )
    expect(summary.status).toBe('aborted')
    expect(summary.verdict).toBe('error')
    expect(summary.reasons.join(' ')).toMatch(/agent a2 was lost .*onAgentLoss: abort/)
    expect(summary.agentLosses?.[0]).toMatchObject({ agent: 'a2', redistributedFrom: null })
  }, 60_000)

  it(`a step gate HOLD on two agents: both are replanned, the step lasts longer, every merged second is whole, \
and the run advances`, async () => {
    const c = await controller(join(tempDir(), 'c.db'), '--agents', 'remote')
    await agent(c.url, 'h1')
    await agent(c.url, 'h2')
    const yaml = `name: remote-hold
target: { url: "${target.url}/orders" }
load: { steps: [ { rps: 50, duration: 3s }, { rps: 100, duration: 3s } ] }
decision:
  guards:
    - { name: median, kind: abort, require: "p50 < 1s", minSamples: 100, maxWindow: 2s }
  step: { promoteAfter: 2, maxHold: 10s }
`
    const { summary, windows } = await run(c.url, yaml)
    // Step 1 needs two 2 s windows at 50 rps (4 s) but plans 3 s: held in 2 s slices on both agents (one
    // here; another if a loaded machine delays the second window past its gate).
    expectFirstStepHeld(summary, windows, 3)
    // Both agents carried every held second: planned and sent agree, nobody missing.
    for (const w of windows.filter((x) => x.index >= 3 && x.step === 0)) {
      expect(w.agents).toBe(2)
      expect(w.missingAgents ?? []).toEqual([])
      expect(w.sent).toBe(50)
    }
    expect(summary).toMatchObject({ status: 'passed', capacityRps: 100 })
    expect((summary.decisions ?? []).filter((d) => d.action === 'hold').map((d) => d.step)).toContain(0)
  }, 60_000)

  it(`kill -9 of the controller: the agent stops loading within 10 s; \
a restart shows the run interrupted with its windows`, async () => {
    const db = join(tempDir(), 'c.db')
    const c = await controller(db)
    const a = await agent(c.url, 'a1')
    const client = new ControllerClient(c.url, undefined)
    const id = await client.startRun(scenario('orphan', '[{ rps: 50, duration: 60s }]'), undefined)
    let seen = 0
    for await (const event of client.follow(id)) if (event.event === 'window' && ++seen === 2) break
    c.process.kill('SIGKILL')
    const killedAt = Date.now()
    await a.waitForLine(/controller silent for \d+ s: stopping all load/)
    expect(Date.now() - killedAt).toBeLessThanOrEqual(10_500)
    // Measured at the target: nothing arrives once the in-flight requests (20 ms) are answered.
    const requests = async () =>
      ((await (await fetch(`${target.url}/__stats`)).json()) as { requests: number }).requests
    await delay(300) // let in-flight requests land before the first reading
    const after = await requests()
    await delay(1_500) // a window in which a live generator at 50 rps would send 75 requests
    expect(await requests()).toBe(after)

    const restarted = await controller(db)
    const stored = (await (await fetch(`${restarted.url}/api/runs/${id}`)).json()) as { status: string }
    expect(stored.status).toBe('interrupted')
    const windows = (await (await fetch(`${restarted.url}/api/runs/${id}/windows`)).json()) as WindowReport[]
    expect(windows.length).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
