import { emptyErrorCounts, type Decision, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { RunDecisions } from '../../apps/controller/src/decision/run-decisions.js'
import { judgeStep, thresholdDecisions } from '../../apps/controller/src/decision/step-judgement.js'
import type { LoadAgent } from '../../apps/controller/src/run/ports.js'
import { executeRun } from '../../apps/controller/src/run/run-service.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'

/**
 * A merged 1 s window: `ok` answers at 5 ms and `errors` 500s, all sent on schedule unless `limited`
 * (late sends) or `dropped` (planned sends that never left).
 */
function window(index: number, step: number, ok: number, limited = false, dropped = 0, errors = 0): WindowReport {
  const h = createLatencyHistogram()
  for (let i = 0; i < ok; i++) recordLatencyUs(h, 5_000)
  return {
    index,
    step,
    startedAt: Date.now(),
    planned: ok + errors + dropped,
    sent: ok + errors,
    dispatched: ok + errors,
    dropped,
    ok,
    errors: { ...emptyErrorCounts(), status: errors > 0 ? { '500': errors } : {} },
    latency: encodeHistogram(h),
    lateSends: limited ? ok : 0,
    maxSendLagMs: limited ? 900 : 0,
    generatorLimited: limited || dropped > 0,
    complete: true,
    openConnections: 1,
  }
}

/** A load that reports one window per planned second (`limited` marks the seconds the client fell behind). */
function scriptedLoad(ok: (step: number) => number, limited: (index: number) => boolean = () => false): LoadAgent {
  return {
    run: (scenario, options) => {
      options.onStart?.(Date.now())
      let index = 0
      scenario.steps.forEach((step, s) => {
        for (let i = 0; i < step.durationS; i++, index++) options.onWindow(window(index, s, ok(s), limited(index)))
      })
      return Promise.resolve({ aborted: false, peakConnections: 1 })
    },
  }
}

async function run(yaml: string, agent: LoadAgent, strict?: boolean): Promise<RunSummary> {
  const store = new SqliteStore(':memory:')
  try {
    return await executeRun(
      { store, agent, probe: () => Promise.resolve(undefined), clock: { now: () => new Date() } },
      { scenario: parseScenario(yaml), yaml, ...(strict !== undefined ? { strict } : {}) },
    )
  } finally {
    store.close()
  }
}

const ramp = `name: ramp
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
`

describe('a generator-limited step', () => {
  it('is never a pass and never counts toward capacity, however well its thresholds did', async () => {
    const summary = await run(
      ramp,
      scriptedLoad(
        (s) => (s + 1) * 200,
        (index) => index === 3,
      ),
    )
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'generator-limited'])
    expect(summary.steps[1]!.thresholds.every((t) => t.pass)).toBe(true)
    expect(summary.steps[1]!.reason).toMatch(
      /^the load generator, not the target, was the limit: 1 of 2 judged seconds/,
    )
    expect(summary).toMatchObject({ verdict: 'error', capacityRps: 200 })
    expect(summary.reasons.join('\n')).toContain('step 2 (400 rps): the load generator, not the target, was the limit')
    // Its thresholds are judged and recorded, but cannot pass; the run stops there (onThresholdFail: stop).
    const step2 = (summary.decisions ?? []).filter((d) => d.step === 1)
    expect(step2.map((d) => [d.verdict, d.action])).toEqual([
      ['insufficient', 'stop'],
      ['insufficient', 'stop'],
    ])
  })

  it(`is one where more than a tenth of the judged seconds were: one \
stalled second in 20 passes, with its warning`, async () => {
    const long = `name: long
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 20s }, { rps: 400, duration: 20s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
`
    // Step 1: 2 of 20 seconds limited (a tenth: the step still stands); step 2: 3 of 20 (past a tenth).
    const limited = new Set([4, 11, 25, 30, 35])
    const summary = await run(
      long,
      scriptedLoad(
        (s) => (s + 1) * 200,
        (index) => limited.has(index),
      ),
    )
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'generator-limited'])
    expect(summary.steps[0]!.generatorLimited).toBe(true)
    expect(summary.warnings.join('\n')).toMatch(/step 1 \(200 rps\) was generator-limited/)
    expect(summary.steps[1]!.reason).toMatch(/3 of 20 judged seconds were generator-limited/)
    expect(summary).toMatchObject({ verdict: 'error', capacityRps: 200 })
  })

  it('is one where any judged second dropped planned sends: that load never reached the target', async () => {
    const long = `name: drop
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 20s }, { rps: 400, duration: 20s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
`
    const agent: LoadAgent = {
      run: (scenario, options) => {
        options.onStart?.(Date.now())
        for (let i = 0; i < 40; i++) {
          const step = i < 20 ? 0 : 1
          // Second 30 (step 2) dropped 100 of its 400 sends; the rest went out on time.
          options.onWindow(i === 30 ? window(i, step, 300, false, 100) : window(i, step, (step + 1) * 200))
        }
        return Promise.resolve({ aborted: false, peakConnections: 1 })
      },
    }
    const summary = await run(long, agent)
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'generator-limited'])
    expect(summary.steps[1]!.reason).toMatch(
      /1 of 20 judged seconds were generator-limited, 1 of them with dropped sends \(/,
    )
    expect(summary).toMatchObject({ verdict: 'error', capacityRps: 200 })
  })

  it("gives way to the target's own errors: a failed error rate is a fail, and its decisions stop the run", async () => {
    const summary = await run(ramp, {
      run: (scenario, options) => {
        options.onStart?.(Date.now())
        // Step 1 passes; step 2 is late in every second and half of its answers are 500s.
        for (let i = 0; i < 2; i++) options.onWindow(window(i, 0, 200))
        for (let i = 2; i < 4; i++) options.onWindow(window(i, 1, 200, true, 0, 200))
        return Promise.resolve({ aborted: false, peakConnections: 1 })
      },
    })
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'fail'])
    expect(summary).toMatchObject({ verdict: 'fail', capacityRps: 200 })
    // Its latency threshold met on the client's late seconds cannot pass either.
    const step2 = (summary.decisions ?? []).filter((d) => d.step === 1)
    expect(step2.map((d) => [d.guard, d.verdict, d.action])).toEqual([
      ['p90 < 800ms', 'insufficient', 'stop'],
      ['error_rate < 5%', 'fail', 'stop'],
    ])
    expect(summary.reasons.join('\n')).not.toMatch(/load generator/)
  })

  it('ends a ramp without thresholds or decision section at the first step the client could not carry', async () => {
    const summary = await run(
      `name: bare
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s }, { rps: 800, duration: 2s } ] }
`,
      {
        run: async (_scenario, options) => {
          options.onStart?.(Date.now())
          // Step 2's seconds are late; the run must stop there rather than go on to step 3.
          for (let i = 0; i < 4; i++) options.onWindow(window(i, Math.floor(i / 2), 200, i >= 2))
          const stopped = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 5_000)
            options.signal.addEventListener(
              'abort',
              () => {
                clearTimeout(timer)
                resolve(true)
              },
              { once: true },
            )
          })
          if (!stopped) for (let i = 4; i < 6; i++) options.onWindow(window(i, 2, 200, true))
          return { aborted: stopped, peakConnections: 1 }
        },
      },
    )
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'generator-limited'])
    expect(summary).toMatchObject({ verdict: 'error', capacityRps: 200 })
  })

  it('is never a pass under strict either', async () => {
    const summary = await run(
      ramp,
      scriptedLoad(
        () => 200,
        () => true,
      ),
      true,
    )
    expect(summary.steps[0]!.verdict).toBe('generator-limited')
    expect(summary).toMatchObject({ verdict: 'error', capacityRps: null })
  })

  it('cannot pass a guard: a span with a generator-limited second is insufficient, and the gate stops', () => {
    const scenario = parseScenario(`name: g
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 10s } ] }
decision:
  guards: [ { name: fast, kind: abort, require: "p90 < 800ms", minSamples: 200 } ]
`)
    const decisions = new RunDecisions(scenario.decision!, { stepStartS: () => 0, now: () => new Date() })
    const [span] = decisions.onWindow(window(0, 0, 200, true)).decisions
    expect(span).toMatchObject({ verdict: 'insufficient', action: 'continue', evidence: { confidence: 'pass' } })
    expect(span!.reason).toMatch(/load generator could not send on schedule/)
    const gate = decisions.gateStep(0, 0)
    expect(gate).toMatchObject({
      action: 'stop',
      reason: expect.stringMatching(/^the load generator, not the target/) as unknown,
    })
    expect(gate.decisions[0]).toMatchObject({ source: 'gate', verdict: 'insufficient', action: 'stop' })
  })

  it('stops a gated run at its gate: no pass, no rollback, and the verdict says the client was the limit', async () => {
    // One limited second, then the load waits for the run to stop it (the gate comes 0.5 s before the step's end).
    const agent: LoadAgent = {
      run: async (_scenario, options) => {
        options.onStart?.(Date.now())
        options.onWindow(window(0, 0, 200, true))
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 5_000)
          options.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true })
        })
        return { aborted: true, peakConnections: 1 }
      },
    }
    const summary = await run(
      `name: gated
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s } ] }
decision:
  guards: [ { name: fast, kind: abort, require: "p90 < 800ms", minSamples: 100 } ]
`,
      agent,
    )
    expect(summary).toMatchObject({ verdict: 'error', status: 'error', capacityRps: null })
    expect(summary.rollback).toBeUndefined()
    expect(summary.steps).toHaveLength(1)
    expect(summary.steps[0]!.verdict).toBe('generator-limited')
    expect(summary.reasons.join('\n')).toContain('step 1 (200 rps): the load generator, not the target, was the limit')
    expect(summary.decisions!.find((d) => d.source === 'gate')).toMatchObject({
      action: 'stop',
      verdict: 'insufficient',
    })
  })
})

describe('an insufficient threshold (met by its estimate, not by its 95% bound)', () => {
  // 40 samples cannot bound a p99 from above: the estimate passes, the evidence cannot vouch for it.
  const few = `name: few
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 20, duration: 2s } ] }
thresholds: [ "p99 < 800ms" ]
`
  it('passes with a warning, as before, without strict', async () => {
    const summary = await run(
      few,
      scriptedLoad(() => 20),
    )
    expect(summary).toMatchObject({ verdict: 'pass', capacityRps: 20 })
    expect(summary.steps[0]!.thresholds[0]).toMatchObject({ pass: true, evidence: { confidence: 'insufficient' } })
    expect(summary.warnings.join('\n')).toMatch(/"p99 < 800ms" passed on 40 samples, too few to be sure at 95%/)
    expect(summary.decisions![0]).toMatchObject({ verdict: 'insufficient', action: 'advance' })
  })

  it.each([
    ['a strict run', few, true],
    ['decision.insufficient: fail', `${few}decision: { insufficient: fail }\n`, undefined],
  ])('fails the run under %s', async (_name, yaml, strict) => {
    const summary = await run(
      yaml,
      scriptedLoad(() => 20),
      strict,
    )
    expect(summary).toMatchObject({ verdict: 'fail', status: 'failed', capacityRps: null })
    expect(summary.steps[0]!.verdict).toBe('fail')
    expect(summary.steps[0]!.reason).toMatch(/^strict: "p99 < 800ms"/)
    expect(summary.reasons[0]).toMatch(/^step 1 \(20 rps\): strict: "p99 < 800ms" met on the point estimate/)
    expect(summary.decisions![0]).toMatchObject({ verdict: 'insufficient', action: 'stop' })
  })

  it('passes under strict when the evidence vouches for it', async () => {
    const summary = await run(
      few.replace('p99 < 800ms', 'p50 < 800ms'),
      scriptedLoad(() => 20),
      true,
    )
    expect(summary).toMatchObject({ verdict: 'pass', capacityRps: 20 })
  })
})

describe('one Decision builder', () => {
  const shape = (d: Decision): string[] => [
    ...Object.keys(d).filter((k) => k !== 'reason' && k !== 'dryRun'),
    ...Object.keys(d.evidence).map((k) => `evidence.${k}`),
  ]

  it('gives thresholds and guards the same record, in one vocabulary', () => {
    const scenario = parseScenario(`name: one
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s } ] }
thresholds: [ "p90 < 800ms" ]
decision:
  guards: [ { name: fast, kind: abort, require: "p90 < 800ms", minSamples: 200 } ]
`)
    const windows = [window(0, 0, 200), window(1, 0, 200)]
    const guards = new RunDecisions(scenario.decision!, { stepStartS: () => 0, now: () => new Date() })
    const spans = windows.flatMap((w) => guards.onWindow(w).decisions)
    const gate = guards.gateStep(0, 0).decisions
    const schedule = { index: 0, rps: 200, startS: 0, durationS: 2, warmupS: 0 }
    const step = judgeStep(schedule, windows, scenario.thresholds)
    const thresholds = thresholdDecisions(schedule, step, 'stop', new Date())
    const records = [...thresholds, ...spans, ...gate]
    expect(records.map((d) => d.source)).toEqual(['threshold', 'window', 'window', 'gate'])
    for (const record of records) expect(shape(record)).toEqual(shape(thresholds[0]!))
    expect(records.map((d) => [d.verdict, d.action])).toEqual([
      ['pass', 'advance'],
      ['pass', 'continue'],
      ['pass', 'continue'],
      ['pass', 'advance'],
    ])
    // The same 95% bounds for the threshold over the step and the guard over the step's last span.
    expect(thresholds[0]!.evidence).toMatchObject({ n: 400, limit: 800, confidence: 'pass' })
    expect(gate[0]!.evidence).toMatchObject({ n: 200, limit: 800, confidence: 'pass', windowStart: 1, windowEnd: 2 })
  })
})
