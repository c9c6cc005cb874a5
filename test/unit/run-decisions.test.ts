import { describe, expect, it } from 'vitest'
import { RunDecisions } from '../../apps/controller/src/decision/run-decisions.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { bucket } from '../helpers/buckets.js'

const clock = { now: () => new Date('2026-11-27T10:00:00Z') }

/** The decision section of a scenario, through the real loader (so defaults are the documented ones). */
function decisions(section: string, extra = ''): RunDecisions {
  const scenario = parseScenario(`name: t
target: { url: http://127.0.0.1:9/ }
load: { steps: [ { rps: 100, duration: 60s }, { rps: 200, duration: 60s } ] }
${extra}
decision:
${section}`)
  return new RunDecisions(scenario.decision!, { stepStartS: (step) => step * 60, ...clock })
}

/** The problems the loader reports for `text` (none when it loads). */
function problemsOf(text: string): Array<{ path: string; message: string }> {
  try {
    parseScenario(text)
  } catch (error) {
    return (error as { problems?: Array<{ path: string; message: string }> }).problems ?? []
  }
  return []
}

const fault = `faults:
  - { type: delay, target: { container: api }, latency: 100ms, at: 30s, duration: 10s }`

describe('RunDecisions', () => {
  it('abort: the first window whose lower bound breaks the limit rolls back, with its evidence and when', () => {
    const d = decisions(`  guards:
    - { name: errors-abort, kind: abort, require: "error_rate < 15%", minSamples: 200 }`)
    expect(d.onWindow(bucket(0, { ok: 100 })).decisions).toEqual([])
    const healthy = d.onWindow(bucket(1, { ok: 100 }))
    expect(healthy.decisions[0]).toMatchObject({
      guard: 'errors-abort',
      condition: 'error_rate < 15%',
      verdict: 'pass',
      action: 'continue',
      evidence: { n: 200, estimate: 0, windowStart: 0, windowEnd: 2 },
    })
    d.onWindow(bucket(2, { ok: 50, errors: 50 }))
    const burst = d.onWindow(bucket(3, { ok: 50, errors: 50 }))
    expect(burst.rollback).toEqual({ guard: 'errors-abort', reason: 'a span failed (at 4s)' })
    expect(burst.decisions[0]).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      evidence: { n: 200, estimate: 0.5, windowStart: 2, windowEnd: 4 },
    })
    expect(burst.decisions[0]!.evidence.lower).toBeGreaterThan(0.15)
  })

  it('slo: trips only on the third failing window of five, not on one noisy window', () => {
    const d = decisions(`  guards:
    - { name: p99-slo, kind: slo, require: "p99 < 100ms", trip: { m: 3, n: 5 }, minSamples: 400 }`)
    const outcomes = [500, 5, 500, 5, 500].map((ms, i) => d.onWindow(bucket(i, { ok: 400, latencyMs: ms })))
    expect(outcomes.map((o) => o.decisions[0]!.verdict)).toEqual(['fail', 'pass', 'fail', 'pass', 'fail'])
    expect(outcomes.map((o) => o.rollback !== undefined)).toEqual([false, false, false, false, true])
    expect(outcomes[4]!.decisions[0]!.reason).toBe('3 of the last 5 spans failed (at 5s)')
  })

  it('a dry-run guard records what it would have done and acts on nothing', () => {
    const d = decisions(`  guards:
    - { name: shadow, kind: abort, require: "error_rate < 1%", dryRun: true, minSamples: 100 }`)
    const burst = d.onWindow(bucket(191, { ok: 0, errors: 100 }))
    expect(burst.rollback).toBeUndefined()
    expect(burst.decisions[0]).toMatchObject({
      dryRun: true,
      action: 'continue',
      verdict: 'fail',
      reason: 'would have rolled back at 3m12s: a span failed',
    })
    const gate = d.gateStep(3, 0)
    expect(gate.action).toBe('advance')
    expect(gate.decisions[0]).toMatchObject({ dryRun: true, action: 'continue' })
    expect(gate.decisions[0]!.reason).toMatch(/^would have rolled back: guard shadow tripped/)
  })

  it('lost agent data is INSUFFICIENT, never PASS, however healthy the seconds that arrived', () => {
    const d = decisions(`  guards:
    - { name: errors, kind: abort, require: "error_rate < 15%", minSamples: 100 }`)
    const short = d.onWindow(bucket(0, { ok: 100, missingAgents: ['agent-2'] }))
    expect(short.decisions[0]).toMatchObject({
      verdict: 'insufficient',
      reason: 'a lost agent left this span short: it cannot pass',
    })
    expect(d.gateStep(0, 0).action).toBe('hold')
  })

  it(`the step gate: HOLD until every guard has passed promoteAfter windows, then ADVANCE; \
warmup seconds are not judged`, () => {
    const d = decisions(`  guards:
    - { name: errors, kind: abort, require: "error_rate < 15%", minSamples: 100 }
  step: { warmup: 2s, promoteAfter: 2 }`)
    expect(d.onWindow(bucket(0)).decisions).toEqual([])
    expect(d.onWindow(bucket(1)).decisions).toEqual([])
    d.onWindow(bucket(2))
    expect(d.gateStep(0, 0)).toMatchObject({ action: 'hold', reason: 'not enough passing spans yet: errors 1/2' })
    d.onWindow(bucket(3))
    const gate = d.gateStep(0, 10)
    expect(gate.action).toBe('advance')
    expect(gate.decisions[0]).toMatchObject({
      step: 0,
      guard: 'errors',
      verdict: 'pass',
      action: 'advance',
      evidence: { windowStart: 3, windowEnd: 4 },
    })
  })

  it('a step that never gets evidence rolls back when its hold reaches maxHold (fail closed)', () => {
    const d = decisions(`  guards:
    - { name: p99, kind: slo, require: "p99 < 100ms" }
  step: { maxHold: 30s }`)
    d.onWindow(bucket(0, { ok: 10 })) // 10 samples cannot bound a p99
    expect(d.gateStep(0, 0).action).toBe('hold')
    expect(d.gateStep(0, 30)).toMatchObject({ action: 'rollback' })
    expect(d.gateStep(0, 30).reason).toContain('held 30s (maxHold 30s)')
  })

  it(`baseline vs prefault: the seconds before the first fault are the baseline; \
only windows under the fault are judged`, () => {
    const d = decisions(
      `  guards:
    - { name: chaos-success, kind: baseline, require: "success_rate drop < 2pp", vs: prefault, minSamples: 1000 }`,
      fault,
    )
    for (let i = 0; i < 20; i++) expect(d.onWindow(bucket(i, { ok: 500 })).decisions).toEqual([])
    d.onWindow(bucket(20, { ok: 450, errors: 50, faults: ['f1-delay'] }))
    const judged = d.onWindow(bucket(21, { ok: 450, errors: 50, faults: ['f1-delay'] }))
    expect(judged.decisions[0]).toMatchObject({
      verdict: 'fail',
      action: 'rollback',
      evidence: { estimate: expect.closeTo(0.1, 6) as number, limit: 0.02 },
    })
    expect(judged.decisions[0]!.evidence.baseline).toEqual({
      source: 'prefault: 20 judged second(s) before the first fault (seconds 0-19)',
      n: 10_000,
      estimate: 1,
    })
  })

  it('baseline vs runs with no past passing run is INSUFFICIENT and says so', () => {
    const d = decisions(`  guards:
    - { name: vs-last, kind: baseline, require: "p99 rise < 20%", vs: runs, minSamples: 100 }`)
    const judged = d.onWindow(bucket(0))
    expect(judged.decisions[0]).toMatchObject({
      verdict: 'insufficient',
      evidence: { baseline: { source: 'runs: no passing run of this scenario reached step 1', n: 0 } },
    })
  })

  it("a gate taken before any second of its step has arrived does not promote on the previous step's windows", () => {
    const d = decisions(`  guards:
    - { name: errors, kind: abort, require: "error_rate < 15%", minSamples: 100 }`)
    d.onWindow(bucket(58))
    d.onWindow(bucket(59))
    expect(d.gateStep(0, 0).action).toBe('advance')
    // Step 2's seconds are late (a slow request holds them back): its gate must not see step 1's passes.
    const gate = d.gateStep(1, 0)
    expect(gate.action).toBe('hold')
    expect(gate.decisions[0]!.evidence.windowEnd).toBe(0)
  })

  it(`a prefault baseline guard in a step with a fault but no closed window holds the step (it is asked, \
and has no answer)`, () => {
    const d = decisions(
      `  guards:
    - { name: chaos-success, kind: baseline, require: "success_rate drop < 2pp", vs: prefault, minSamples: 5000 }`,
      fault,
    )
    for (let i = 0; i < 30; i++) d.onWindow(bucket(i, { ok: 100 }))
    for (let i = 30; i < 38; i++) d.onWindow(bucket(i, { ok: 100, faults: ['f1-delay'] }))
    expect(d.gateStep(0, 0).action).toBe('hold')
    // Step 2 never sees a fault: the guard is not asked there.
    d.onWindow(bucket(60, { step: 1 }))
    expect(d.gateStep(1, 0).action).toBe('advance')
  })

  it(`property: windows that cannot bound their condition, or lack a lost agent's share, \
never PASS and never promote a step`, () => {
    let seed = 7
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let trial = 0; trial < 80; trial++) {
      const maxWindow = 1 + Math.floor(random() * 10)
      const d = decisions(
        `  guards:
    - { name: p99, kind: slo, require: "p99 < 1s", minSamples: ${1 + Math.floor(random() * 400)}, ` +
          `maxWindow: ${maxWindow}s }
    - { name: errors, kind: abort, require: "error_rate < 50%", minSamples: 50 }
  step: { promoteAfter: ${1 + Math.floor(random() * 3)} }`,
      )
      for (let i = 0; i < 60; i++) {
        // At most 36 samples a second: a p99 window (at most 10 s) never reaches the 368 it needs to be bounded;
        // and every second lacks an agent's share, so the error guard cannot pass either.
        const outcome = d.onWindow(bucket(i, { ok: Math.floor(random() * 37), missingAgents: ['lost'] }))
        for (const decision of outcome.decisions)
          expect(decision.verdict, `trial ${trial} second ${i}`).not.toBe('pass')
        if (i % 7 === 6) expect(d.gateStep(0, Math.floor(random() * 30)).action).not.toBe('advance')
      }
    }
  })

  it.each([
    [8, 0, '9s'],
    [59, 0, '1m00s'],
    [191, 1, '3m12s'],
  ])('says when a guard tripped as a run clock: second %i ends at %s', (index, step, clock) => {
    const d = decisions(`  guards:
    - { name: errors-abort, kind: abort, require: "error_rate < 15%", minSamples: 100 }`)
    expect(d.onWindow(bucket(index, { step, ok: 0, errors: 100 })).rollback?.reason).toBe(`a span failed (at ${clock})`)
  })
})

describe('the decision section in a scenario', () => {
  it("parses the issue's canary and chaos spelling with the documented defaults", () => {
    const scenario = parseScenario(`name: canary
target: { url: http://127.0.0.1:9/ }
load: { steps: [ { rps: 100, duration: 3m }, { rps: 200, duration: 3m } ] }
${fault}
decision:
  guards:
    - { name: errors-abort, kind: abort, require: "error_rate < 15%", minSamples: 200 }
    - { name: p99-slo, kind: slo, require: "p99 < 800ms", trip: { m: 3, n: 5 }, clear: { k: 2 } }
    - { name: chaos-success, kind: baseline, require: "success_rate drop < 2pp", vs: prefault }
  step: { warmup: 20s, promoteAfter: 2, maxHold: 6m }
hooks:
  onRollback: [ { url: http://127.0.0.1:9000/rollback, secret: "\${GAUNTLET_SECRET_ROLLBACK}" } ]
`)
    expect(scenario.decision).toMatchObject({ warmupS: 20, promoteAfter: 2, maxHoldS: 360 })
    const [abort, slo, baseline] = scenario.decision!.guards
    expect(abort).toMatchObject({
      kind: 'abort',
      minSamples: 200,
      maxSpanS: 10,
      trip: { m: 1, n: 1 },
      clearK: null,
      dryRun: false,
      require: { metric: 'error_rate', limit: 0.15 },
    })
    expect(slo).toMatchObject({ trip: { m: 3, n: 5 }, clearK: 2, minSamples: 100, clearRequire: { limit: 720 } })
    expect(baseline).toMatchObject({
      vs: 'prefault',
      require: { metric: 'success_rate', direction: 'drop', limit: 0.02, relative: false },
    })
  })

  it.each([
    [
      'a fixed limit on a baseline guard',
      '{ name: b, kind: baseline, require: "p99 < 1s", vs: runs }',
      '/decision/guards/0/require',
      'is a fixed limit',
    ],
    [
      'a change on an abort guard',
      '{ name: a, kind: abort, require: "p99 rise < 10%" }',
      '/decision/guards/0/require',
      'needs kind: baseline',
    ],
    [
      'a baseline without vs',
      '{ name: b, kind: baseline, require: "p99 rise < 10%" }',
      '/decision/guards/0/vs',
      'vs: prefault',
    ],
    [
      'vs prefault with no faults',
      '{ name: b, kind: baseline, require: "p99 rise < 10%", vs: prefault }',
      '/decision/guards/0/vs',
      'the scenario has no faults',
    ],
    [
      'trip on an abort guard',
      '{ name: a, kind: abort, require: "p99 < 1s", trip: { m: 1, n: 2 } }',
      '/decision/guards/0/trip',
      'use kind: slo',
    ],
    [
      'm greater than n',
      '{ name: s, kind: slo, require: "p99 < 1s", trip: { m: 4, n: 3 } }',
      '/decision/guards/0/trip/m',
      'cannot exceed n',
    ],
    [
      'a looser clear condition',
      '{ name: s, kind: slo, require: "p99 < 1s", clear: { k: 2, require: "p99 < 2s" } }',
      '/decision/guards/0/clear/require',
      'at least as strict',
    ],
    [
      'pp on a latency',
      '{ name: b, kind: baseline, require: "p99 rise < 2pp", vs: runs }',
      '/decision/guards/0/require',
      'pp (percentage points) applies to rates',
    ],
    [
      'the wrong direction',
      '{ name: b, kind: baseline, require: "success_rate rise < 2pp", vs: runs }',
      '/decision/guards/0/require',
      'write "success_rate drop < ..."',
    ],
    [
      'an unknown key',
      '{ name: s, kind: slo, require: "p99 < 1s", tirp: { m: 1, n: 2 } }',
      '/decision/guards/0/tirp',
      'unknown key "tirp"',
    ],
    [
      'a fractional window',
      '{ name: s, kind: slo, require: "p99 < 1s", maxWindow: 1500ms }',
      '/decision/guards/0/maxWindow',
      'whole number of seconds',
    ],
  ])('rejects %s, naming the field', (_name, guard, path, message) => {
    const problems = problemsOf(`name: t
target: { url: http://127.0.0.1:9/ }
load: { steps: [ { rps: 100, duration: 60s } ] }
decision:
  guards:
    - ${guard}
`)
    expect(
      problems.some((p) => p.path === path && p.message.includes(message)),
      JSON.stringify(problems),
    ).toBe(true)
  })

  it('rejects two guards with one name, and a decision warmup as long as a step', () => {
    const problems = problemsOf(`name: t
target: { url: http://127.0.0.1:9/ }
load: { steps: [ { rps: 100, duration: 10s } ] }
decision:
  guards:
    - { name: g, kind: abort, require: "p99 < 1s" }
    - { name: g, kind: abort, require: "error_rate < 1%" }
  step: { warmup: 10s }
`)
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['/decision/guards/1/name', '/decision/step/warmup']),
    )
  })
})

describe('leak guards in a scenario', () => {
  const scenario = (
    guard: string,
    metrics = 'targetMetrics: { url: "http://127.0.0.1:9/metrics", series: [go_goroutines] }',
  ) => `name: t
target: { url: http://127.0.0.1:9/ }
load: { steps: [ { rps: 100, duration: 60s } ] }
${metrics}
decision:
  guards:
    - ${guard}
`
  it('parses a leak guard on a scraped series, with a 10s cooldown by default', () => {
    const parsed = parseScenario(scenario('{ name: goroutines, kind: leak, require: "go_goroutines growth < 20%" }'))
    expect(parsed.decision!.leaks).toEqual([
      {
        name: 'goroutines',
        require: { source: 'go_goroutines growth < 20%', series: 'go_goroutines', operator: '<', limit: 0.2 },
        dryRun: false,
      },
    ])
    expect(parsed.decision!.guards).toEqual([])
    expect(parsed.targetMetrics).toEqual({
      url: 'http://127.0.0.1:9/metrics',
      series: ['go_goroutines'],
      cooldownS: 10,
    })
  })

  it.each([
    [
      'a series that is not scraped',
      '{ name: l, kind: leak, require: "process_resident_memory_bytes growth < 20%" }',
      undefined,
      '/decision/guards/0/require',
      'is not scraped',
    ],
    [
      'no targetMetrics at all',
      '{ name: l, kind: leak, require: "go_goroutines growth < 20%" }',
      '',
      '/decision/guards/0/require',
      'needs targetMetrics',
    ],
    [
      'window settings on a leak guard',
      '{ name: l, kind: leak, require: "go_goroutines growth < 20%", minSamples: 10 }',
      undefined,
      '/decision/guards/0/minSamples',
      'does not apply to a leak guard',
    ],
    [
      'a cooldown that is not whole seconds',
      '{ name: l, kind: leak, require: "go_goroutines growth < 20%" }',
      'targetMetrics: { url: "http://127.0.0.1:9/m", series: [go_goroutines], cooldown: 1500ms }',
      '/targetMetrics/cooldown',
      'whole number of seconds',
    ],
    [
      'a metrics URL that is not http',
      '{ name: l, kind: leak, require: "go_goroutines growth < 20%" }',
      'targetMetrics: { url: "ftp://x/m", series: [go_goroutines] }',
      '/targetMetrics/url',
      'is not an http(s) URL',
    ],
  ])('rejects %s, naming the field', (_name, guard, metrics, path, message) => {
    const problems = problemsOf(metrics === undefined ? scenario(guard) : scenario(guard, metrics))
    expect(
      problems.some((p) => p.path === path && p.message.includes(message)),
      JSON.stringify(problems),
    ).toBe(true)
  })
})

describe('live decision lines (what gauntlet run prints as it goes)', () => {
  it('prints each gate once, trips and dry-run verdicts, and nothing for quiet windows or thresholds', async () => {
    const { liveDecisionLine } = await import('../../apps/controller/src/report/text-report.js')
    const d = decisions(`  guards:
    - { name: errors, kind: abort, require: "error_rate < 15%", minSamples: 100 }
    - { name: shadow, kind: abort, require: "error_rate < 1%", minSamples: 100, dryRun: true }
  step: { promoteAfter: 2 }`)
    const records = [
      ...d.onWindow(bucket(0)).decisions,
      ...d.gateStep(0, 0).decisions,
      ...d.onWindow(bucket(1, { ok: 50, errors: 50 })).decisions,
    ]
    const lines: string[] = []
    let previous
    for (const record of records) {
      const line = liveDecisionLine(record, previous)
      previous = record
      if (line) lines.push(line)
    }
    expect(lines).toEqual([
      '>> step 1 HOLD: not enough passing spans yet: errors 1/2',
      '>> step 1 ROLLBACK: errors "error_rate < 15%" - a span failed (at 2s)',
      '>> step 1 DRY-RUN: shadow "error_rate < 1%" - would have rolled back at 2s: a span failed',
    ])
  })
})
