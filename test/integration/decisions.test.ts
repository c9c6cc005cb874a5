import type { Decision, HookPayload, RunSummary, WindowReport } from '@gauntlet/contracts'
import { executeRun, parseScenario, SqliteStore } from '@gauntlet/controller'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { expectFirstStepHeld } from '../helpers/buckets.js'
import { tempDir } from '../helpers/cli.js'
import { embeddedRunDeps } from '../helpers/embedded-run.js'

/**
 * The decision section against the real demo target, the embedded agent and a real SQLite file: the
 * target's knobs are turned as the run reaches a given second (on the window that reports it), and a
 * real HTTP receiver takes the hooks.
 */
describe('decisions with evidence (demo target, embedded agent)', () => {
  let receiver: Server
  let hookBase: string
  const received: HookPayload[] = []
  let target: ChildServer | undefined

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        received.push(JSON.parse(body) as HookPayload)
        response.statusCode = 204
        response.end()
      })
    }).listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  })
  afterAll(() => void receiver.close())
  afterEach(async () => {
    await target?.stop()
    target = undefined
    received.length = 0
  })

  /** Runs `yaml` (the target URL filled in); `turn` may change the target's knobs when a window arrives. */
  async function run(
    yaml: string,
    turn: (window: WindowReport, knobs: (body: object) => Promise<void>) => void | Promise<void> = () => {},
  ): Promise<{
    summary: RunSummary
    windows: WindowReport[]
    stored: Decision[]
    series: Record<string, Array<{ atS: number; value: number }>>
  }> {
    target ??= await startDemoTarget('--latency', '2')
    const url = target.url
    const knobs = async (body: object): Promise<void> => {
      // A window observed as the run ends may turn a knob on a target that is already gone.
      const response = await fetch(`${url}/__knobs`, { method: 'PUT', body: JSON.stringify(body) }).catch(
        (error: unknown) => {
          if (!finished) throw error
        },
      )
      if (response) expect(response.status).toBe(200)
    }
    const scenario = parseScenario(yaml.replaceAll('TARGET', url).replaceAll('HOOKS', hookBase))
    const store = new SqliteStore(join(tempDir(), 'g.db'))
    const windows: WindowReport[] = []
    let finished = false
    try {
      const summary = await executeRun(
        embeddedRunDeps(store, { reportUrl: (id) => `https://gauntlet.example/api/runs/${id}/report` }),
        { scenario, yaml, observer: { window: (w) => (windows.push(w), void turn(w, knobs)) } },
      )
      return { summary, windows, stored: store.decisions(summary.runId), series: store.targetSeries(summary.runId) }
    } finally {
      finished = true
      store.close()
    }
  }

  const guardDecisions = (decisions: readonly Decision[] | undefined, guard: string): Decision[] =>
    (decisions ?? []).filter((d) => d.guard === guard && d.evidence.windowEnd > 0)

  it(`an error burst trips the abort guard: the run rolls back within two windows, \
and the onRollback hook carries the guard and its evidence`, async () => {
    const { summary, windows, stored } = await run(
      `name: burst
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 200, duration: 20s } ] }
decision:
  guards:
    - { name: errors-abort, kind: abort, require: "error_rate < 15%", minSamples: 200 }
hooks:
  onRollback: [ { url: "HOOKS/rollback" } ]
`,
      async (w, knobs) => {
        if (w.index === 2) await knobs({ errorRate: 0.5 })
      },
    )
    expect(summary).toMatchObject({ status: 'failed', verdict: 'fail', rollback: { step: 0, guard: 'errors-abort' } })
    const trip = guardDecisions(summary.decisions, 'errors-abort').find((d) => d.action === 'rollback')!
    expect(trip.verdict).toBe('fail')
    expect(trip.evidence.lower!).toBeGreaterThan(0.15)
    expect(trip.evidence.n).toBeGreaterThanOrEqual(200)
    // The first bad second is 3 or 4 (the knob turns as window 2 arrives); the trip closes within two windows of it.
    const firstBad = windows.find((w) => Object.values(w.errors.status).reduce((a, b) => a + b, 0) > w.ok * 0.2)!
    expect(trip.evidence.windowEnd - 1 - firstBad.index).toBeLessThanOrEqual(2)
    // The load stopped: far fewer than the 20 planned seconds ran.
    expect(windows.length).toBeLessThan(12)
    expect(summary.reasons[0]).toMatch(/^rolled back in step 1 \(200 rps\): guard errors-abort: a span failed/)
    expect(received.filter((r) => r.event === 'onRollback')).toMatchObject([
      { step: 0, guard: 'errors-abort', decisions: [{ guard: 'errors-abort', action: 'rollback' }] },
    ])
    // The alert carries the root cause as the run's report will show it, and where that report opens.
    const alert = received.find((r) => r.event === 'onRollback')!
    expect(alert.reportUrl).toBe(`https://gauntlet.example/api/runs/${summary.runId}/report`)
    expect(alert.rootCause!.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['trip', 'rollback']))
    // The burst is 5xx answers: the success rate dropped, and that drop is beyond its 95% bounds.
    expect(alert.rootCause!.impact!.successRateDropPp.lower!).toBeGreaterThan(0)
    expect(alert.rootCause!.headline).not.toBe('')
    // Stored, with the condition and reason, exactly as in the summary.
    expect(stored).toEqual(summary.decisions)
  })

  it('a latency step trips the slo guard only at the third failing window of five', async () => {
    const { summary } = await run(
      `name: slow
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 200, duration: 20s } ] }
decision:
  guards:
    - { name: p99-slo, kind: slo, require: "p99 < 50ms", trip: { m: 3, n: 5 }, minSamples: 200 }
`,
      async (w, knobs) => {
        if (w.index === 2) await knobs({ latencyMs: 100 })
      },
    )
    expect(summary).toMatchObject({ status: 'failed', rollback: { guard: 'p99-slo' } })
    const verdicts = guardDecisions(summary.decisions, 'p99-slo')
    const fails = verdicts.filter((d) => d.verdict === 'fail')
    expect(fails.length).toBe(3)
    expect(fails.map((d) => d.action)).toEqual(['continue', 'continue', 'rollback'])
    expect(fails[2]!.reason).toMatch(/^3 of the last \d spans failed/)
  })

  it('a dry-run guard records "would have rolled back" and acts on nothing: the run goes on to pass', async () => {
    const { summary } = await run(
      `name: shadow
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 200, duration: 6s } ] }
decision:
  guards:
    - { name: errors-shadow, kind: abort, require: "error_rate < 15%", minSamples: 200, dryRun: true }
hooks:
  onRollback: [ { url: "HOOKS/rollback" } ]
`,
      async (w, knobs) => {
        if (w.index === 1) await knobs({ errorRate: 0.5 })
      },
    )
    expect(summary).toMatchObject({ status: 'passed', verdict: 'pass', capacityRps: 200 })
    expect(summary.rollback).toBeUndefined()
    expect(summary.steps[0]).toMatchObject({ durationS: 6, verdict: 'pass' })
    const trip = guardDecisions(summary.decisions, 'errors-shadow').find((d) =>
      d.reason?.startsWith('would have rolled back'),
    )
    expect(trip).toMatchObject({ dryRun: true, action: 'continue', verdict: 'fail' })
    expect(received.some((r) => r.event === 'onRollback')).toBe(false)
  })

  it('a flapping target does not flap the verdict: one trip, never cleared by its good seconds', async () => {
    let slow = false
    const { summary } = await run(
      `name: flap
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 200, duration: 13s } ] }
decision:
  guards:
    - { name: p90-flap, kind: slo, require: "p90 < 50ms", trip: { m: 3, n: 5 }, clear: { k: 6 }, ` +
        `minSamples: 200, dryRun: true }
`,
      async (w, knobs) => {
        // 3 s slow, 3 s fast, and so on: a fast stretch holds about 3 passing windows, far fewer than k.
        if (w.index % 3 !== 0) return
        slow = !slow
        await knobs({ latencyMs: slow ? 100 : 2 })
      },
    )
    const records = guardDecisions(summary.decisions, 'p90-flap')
    expect(records.filter((d) => d.verdict === 'pass').length).toBeGreaterThan(2)
    // One trip among the windows (the step gate at the end repeats it:
    // "would have rolled back: guard p90-flap tripped").
    expect(records.filter((d) => d.reason?.startsWith('would have rolled back at')).length).toBe(1)
    expect(records.filter((d) => d.verdict === 'fail').length).toBeGreaterThan(3)
    expect(records.filter((d) => d.reason?.startsWith('cleared')).length).toBe(0)
  })

  it(`HOLD lengthens a step (a real replan of the load) until it has its evidence, then ADVANCE; \
onHold fires`, async () => {
    const { summary, windows } = await run(
      `name: hold
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 50, duration: 3s }, { rps: 100, duration: 4s } ] }
decision:
  guards:
    - { name: median, kind: abort, require: "p50 < 1s", minSamples: 100, maxWindow: 2s }
  step: { promoteAfter: 2, maxHold: 10s }
hooks:
  onHold: [ { url: "HOOKS/hold" } ]
`,
    )
    // Step 1 needs two 2 s windows (4 s) but plans 3 s: held in 2 s slices (one here; another if a loaded
    // machine delays the second window past its gate), then it advances.
    const held = expectFirstStepHeld(summary, windows, 3)
    expect(summary.steps[0]!.plannedRps).toBe(50)
    expect(windows.find((w) => w.step === 1)!.index).toBe(3 + held)
    const gates = (summary.decisions ?? []).filter((d) => d.guard === 'median' && d.action !== 'continue')
    expect(gates.map((d) => `${d.step}:${d.action}`)).toEqual(expect.arrayContaining(['0:hold', '0:advance']))
    // Step 2 sends 100 a second: its 1 s windows give it its two passes in time, so it is not held.
    expect(summary.steps[1]).toMatchObject({ durationS: 4, plannedRps: 100 })
    expect(summary.steps[1]!.heldS).toBeUndefined()
    expect(summary).toMatchObject({ status: 'passed', capacityRps: 100 })
    expect(received.filter((r) => r.event === 'onHold')[0]).toMatchObject({
      step: 0,
      reason: expect.stringMatching(/^not enough passing spans yet: median [01]\/2$/) as string,
    })
  })

  it(`a step that never has evidence rolls back when its hold reaches maxHold (fail closed), \
never passes`, async () => {
    const { summary } = await run(
      `name: starved
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 20, duration: 3s } ] }
decision:
  guards:
    - { name: p99, kind: slo, require: "p99 < 1s", minSamples: 100, maxWindow: 2s }
  step: { maxHold: 4s }
`,
    )
    expect(summary).toMatchObject({ status: 'failed', verdict: 'fail', capacityRps: null })
    expect(summary.rollback!.reason).toContain('held 4s (maxHold 4s) without enough passing spans: p99 0/1')
    expect(summary.steps[0]!.heldS).toBe(4)
  })

  it(`target health: a leak is flagged (series, growth, since when) and rolls back; \
the series are stored with the run`, async () => {
    const { summary, stored, series } = await run(
      `name: leaky
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 100, duration: 6s } ] }
targetMetrics: { url: "TARGET/__metrics", series: [process_resident_memory_bytes, nodejs_heap_size_used_bytes], ` +
        `cooldown: 3s }
decision:
  guards:
    - { name: rss-leak, kind: leak, require: "process_resident_memory_bytes growth < 50%" }
hooks:
  onRollback: [ { url: "HOOKS/rollback" } ]
`,
      async (w, knobs) => {
        // 16 MB a second from the first window on: ~130 MB more by the end of the cooldown, never released.
        if (w.index === 0) await knobs({ leakKbPerS: 16_384 })
      },
    )
    expect(summary).toMatchObject({ status: 'failed', verdict: 'fail', rollback: { guard: 'rss-leak' } })
    expect(summary.reasons[0]).toMatch(
      new RegExp(
        String.raw`^rolled back after the load: leak guard rss-leak: process_resident_memory_bytes grew \d+(\.\d)?% ` +
          String.raw`\(peak at second [\d.]+\) and was still \+\d+(\.\d)?% after the load; ` +
          String.raw`growing since second [\d.]+$`,
      ),
    )
    const rss = summary.targetMetrics!.find((m) => m.series === 'process_resident_memory_bytes')!
    expect(rss.scrapes).toBeGreaterThanOrEqual(3 + 6 + 2)
    expect(rss.endGrowth!).toBeGreaterThan(0.5)
    expect(rss.growingSinceS!).toBeLessThan(3)
    const leak = stored.find((d) => d.guard === 'rss-leak')!
    expect(leak).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      condition: 'process_resident_memory_bytes growth < 50%',
      evidence: { limit: 0.5, confidence: 'fail' },
    })
    expect(received.filter((r) => r.event === 'onRollback')).toMatchObject([{ guard: 'rss-leak' }])
    // Every scrape is stored: pre-load points at negative seconds, then the run and its cooldown.
    expect(series.process_resident_memory_bytes).toHaveLength(rss.scrapes)
    expect(series.process_resident_memory_bytes![0]!.atS).toBeLessThan(0)
    expect(series.nodejs_heap_size_used_bytes!.length).toBeGreaterThan(10)
  })

  it('target health without a leak: the same guard passes, and the run passes', async () => {
    const { summary } = await run(
      `name: healthy
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 100, duration: 4s } ] }
targetMetrics: { url: "TARGET/__metrics", series: [process_resident_memory_bytes], cooldown: 2s }
decision:
  guards:
    - { name: rss-leak, kind: leak, require: "process_resident_memory_bytes growth < 50%" }
`,
    )
    expect(summary).toMatchObject({ status: 'passed', verdict: 'pass' })
    expect(summary.decisions!.find((d) => d.guard === 'rss-leak')).toMatchObject({
      verdict: 'pass',
      action: 'continue',
    })
    expect(summary.targetMetrics![0]!.peakGrowth!).toBeLessThan(0.5)
  })
})
