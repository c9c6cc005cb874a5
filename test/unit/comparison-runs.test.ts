import type { ComparedMetric, RunComparison } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { compareRuns } from '../../apps/controller/src/report/run-comparison.js'
import { scriptedRun, type SecondSpec } from '../fixtures/junit/scripted-runs.js'

/** Deterministic pseudo-random numbers (mulberry32), so "noise" is the same on every machine. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` latencies (ms) from a log-normal around `medianMs`, as a web service's look. */
function latencies(next: () => number, n: number, medianMs: number): number[] {
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
    return Math.round(medianMs * Math.exp(0.5 * z) * 100) / 100
  })
}

const yaml = `name: release
target: { url: "http://127.0.0.1:9/" }
load: { warmup: 1s, steps: [ { rps: 300, duration: 6s }, { rps: 600, duration: 6s } ] }
`

/** A run whose every second is `spec(index, step)`, with latencies drawn from `seed`. */
async function runOf(seed: number, spec: (index: number, step: number, next: () => number) => SecondSpec) {
  const next = random(seed)
  const { report, windows } = await scriptedRun(yaml, (i, s) => spec(i, s, next))
  return { report, windows }
}

const healthy =
  (medianMs: number, errorShare = 0) =>
  (_i: number, step: number, next: () => number) => {
    const rps = step === 0 ? 300 : 600
    const errors = Math.round(rps * errorShare)
    return { ok: rps - errors, errors, latencyMs: latencies(next, rps - errors, medianMs) }
  }

const metric = (c: RunComparison, step: number, name: ComparedMetric['metric']): ComparedMetric =>
  c.steps[step]!.metrics.find((m) => m.metric === name)!

describe('compareRuns', () => {
  it('does not flag noise: two runs of the same service, different samples, are within noise', async () => {
    const baseline = await runOf(1, healthy(20, 0.01))
    const run = await runOf(2, healthy(20, 0.01))
    const c = compareRuns(baseline, run)
    expect(c.steps.map((s) => s.index)).toEqual([0, 1])
    for (const step of c.steps)
      for (const m of step.metrics)
        expect(`${step.index} ${m.metric} ${m.verdict}`).toBe(`${step.index} ${m.metric} within-noise`)
    expect(c.regressed).toBe(false)
    expect(c.notes).toEqual([])
  })

  it('leaves its 95% bounds by chance rarely: 20 pairs of runs of one unchanged service', async () => {
    const verdicts: string[] = []
    let regressedPairs = 0
    for (let pair = 0; pair < 20; pair++) {
      const c = compareRuns(
        await runOf(100 + 2 * pair, healthy(20, 0.01)),
        await runOf(101 + 2 * pair, healthy(20, 0.01)),
      )
      if (c.regressed) regressedPairs++
      for (const step of c.steps) for (const m of step.metrics) verdicts.push(m.verdict)
    }
    const outside = verdicts.filter((v) => v !== 'within-noise').length
    expect(verdicts).toHaveLength(200)
    // Two-sided 95% per metric (conservative order-statistic intervals): at most 5% outside.
    expect(outside / verdicts.length).toBeLessThanOrEqual(0.05)
    // With the minimum change (5% of latency, 0.1 pp of errors), no unchanged pair regressed (12.5% without it).
    expect(regressedPairs).toBeLessThanOrEqual(1)
  })

  it('flags a real regression beyond its bounds: latency 30% slower and errors up from 1% to 4%', async () => {
    const baseline = await runOf(1, healthy(20, 0.01))
    const run = await runOf(2, (i, s, next) =>
      s === 1 ? healthy(26, 0.04)(i, s, next) : healthy(20, 0.01)(i, s, next),
    )
    const c = compareRuns(baseline, run)
    expect(c.regressed).toBe(true)
    expect(c.steps[0]!.metrics.every((m) => m.verdict === 'within-noise')).toBe(true)
    for (const q of ['p50', 'p90', 'p99'] as const) {
      const m = metric(c, 1, q)
      expect(m.verdict, q).toBe('regressed')
      expect(m.change.lower!).toBeGreaterThan(0)
      expect(m.change.estimate).toBeCloseTo(m.run! - m.baseline!, 6)
      expect(m.change.lower!).toBeLessThanOrEqual(m.change.estimate!)
      expect(m.change.upper!).toBeGreaterThanOrEqual(m.change.estimate!)
    }
    const p50 = metric(c, 1, 'p50')
    expect(p50.run! / p50.baseline!).toBeGreaterThan(1.2)
    const errors = metric(c, 1, 'error_rate')
    expect(errors).toMatchObject({ verdict: 'regressed', baseline: 0.01, run: 0.04 })
    expect(errors.change.estimate).toBeCloseTo(0.03, 6)
    expect(errors.change.lower!).toBeGreaterThan(0)
    expect(errors.change.upper!).toBeLessThan(0.05)
  })

  it('calls the reverse an improvement, which never makes the comparison regressed', async () => {
    const baseline = await runOf(1, healthy(26, 0.04))
    const run = await runOf(2, healthy(20, 0.01))
    const c = compareRuns(baseline, run)
    expect(metric(c, 1, 'p50').verdict).toBe('improved')
    expect(metric(c, 1, 'error_rate').verdict).toBe('improved')
    expect(c.regressed).toBe(false)
  })

  it("judges each step after its warmup: a slow first second of the run's step is not a regression", async () => {
    const baseline = await runOf(1, healthy(20))
    // Second 0 (step 1's warmup) and second 6 (step 2's) answer at 500 ms.
    const run = await runOf(2, (i, s, next) =>
      i === 0 || i === 6 ? { ok: 300, latencyMs: 500 } : healthy(20)(i, s, next),
    )
    const c = compareRuns(baseline, run)
    expect(c.regressed).toBe(false)
    expect(metric(c, 0, 'p99').run!).toBeLessThan(100)
  })

  it('leaves out generator-limited seconds (the client queued, not the target) and notes them', async () => {
    const baseline = await runOf(1, healthy(20))
    const run = await runOf(2, (i, s, next) =>
      i === 3 ? { ok: 150, latencyMs: 900, limited: true } : healthy(20)(i, s, next),
    )
    const c = compareRuns(baseline, run)
    expect(c.notes).toEqual(["step 1: 1 of the run's 5 judged seconds were generator-limited and left out"])
    expect(metric(c, 0, 'p99').verdict).toBe('within-noise')
    expect(metric(c, 0, 'rps').verdict).toBe('within-noise')
    expect(c.regressed).toBe(false)
  })

  it('judges the achieved rate as counted: a few sends short is noise, a quarter short is a regression', async () => {
    const baseline = await runOf(1, healthy(20))
    const few = await runOf(2, (i, s, next) => ({ ...healthy(20)(i, s, next), ok: s === 0 ? 299 : 600 }))
    expect(metric(compareRuns(baseline, few), 0, 'rps')).toMatchObject({ verdict: 'within-noise', baseline: 300 })
    const short = await runOf(3, (i, s, next) =>
      s === 1 ? { ...healthy(20)(i, s, next), ok: 450 } : healthy(20)(i, s, next),
    )
    const rps = metric(compareRuns(baseline, short), 1, 'rps')
    expect(rps).toMatchObject({ verdict: 'regressed', baseline: 600, run: 450, change: { estimate: -150 } })
  })

  it('notes a step only one run has and a step planned at another rate; insufficient without data', async () => {
    const baseline = await runOf(1, healthy(20))
    const other = await scriptedRun(
      `name: release
target: { url: "http://127.0.0.1:9/" }
load: { warmup: 1s, steps: [ { rps: 200, duration: 6s } ] }
`,
      () => ({ ok: 0, errors: 200 }),
    )
    const c = compareRuns(baseline, other)
    expect(c.steps).toHaveLength(1)
    expect(c.notes).toEqual([
      'step 1 planned 200 rps, the baseline 300 rps: compared anyway',
      'step 2 ran only in the baseline: the run did not reach it (a regression)',
    ])
    // A release gate fails a run that did not reach a step the baseline ran, whatever its numbers.
    expect(c.regressed).toBe(true)
    // No successful response in the run: no latency to compare.
    expect(metric(c, 0, 'p50')).toMatchObject({ verdict: 'insufficient', run: null })
    expect(metric(c, 0, 'error_rate').verdict).toBe('regressed')
    expect(c).toMatchObject({ baseline: { id: baseline.report.run.id }, run: { id: other.report.run.id } })
  })
})
