import { emptyErrorCounts, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { judgeStep } from '../../apps/controller/src/decision/step-judgement.js'
import { judgeRun } from '../../apps/controller/src/run/verdict.js'
import { parseThreshold, type Threshold } from '../../apps/controller/src/scenario/thresholds.js'

const thresholds = (...sources: string[]): Threshold[] =>
  sources.map((s) => {
    const parsed = parseThreshold(s)
    if (!parsed.ok) throw new Error(parsed.message)
    return parsed.threshold
  })

function window(
  index: number,
  step: number,
  opts: {
    latenciesMs?: number[]
    status503?: number
    timeouts?: number
    limited?: boolean
    complete?: boolean
    sent?: number
  } = {},
): WindowReport {
  const h = createLatencyHistogram()
  for (const ms of opts.latenciesMs ?? []) recordLatencyUs(h, ms * 1000)
  const errors = emptyErrorCounts()
  if (opts.status503) errors.status['503'] = opts.status503
  errors.timeout = opts.timeouts ?? 0
  const ok = opts.latenciesMs?.length ?? 0
  return {
    index,
    step,
    startedAt: 0,
    planned: ok + (opts.status503 ?? 0) + (opts.timeouts ?? 0),
    sent: opts.sent ?? ok + (opts.status503 ?? 0) + (opts.timeouts ?? 0),
    dispatched: ok + (opts.status503 ?? 0) + (opts.timeouts ?? 0),
    dropped: 0,
    ok,
    errors,
    latency: encodeHistogram(h),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: opts.limited ?? false,
    complete: opts.complete ?? true,
    openConnections: 1,
  }
}

const spec = { index: 0, rps: 100, startS: 0, durationS: 3, warmupS: 1 }
const fast = Array.from({ length: 100 }, (_, i) => 10 + i / 10) // 10.0 .. 19.9 ms

describe('step judgement', () => {
  it('excludes warmup windows and merges the rest', () => {
    const step = judgeStep(
      spec,
      [
        window(0, 0, { latenciesMs: new Array(100).fill(5000) }),
        window(1, 0, { latenciesMs: fast }),
        window(2, 0, { latenciesMs: fast }),
      ],
      thresholds('p99 < 50ms'),
    )
    expect(step).toMatchObject({
      verdict: 'pass',
      sent: 200,
      completed: 200,
      errors: 0,
      errorRate: 0,
      achievedRps: 100,
    })
    expect(step.p99Ms).toBeLessThan(20)
  })

  it.each([
    ['p99 over the limit', { latenciesMs: [...fast.slice(0, 95), 900, 900, 900, 900, 900] }, 'p99 < 800ms', 'fail'],
    [
      'error rate from errors over all outcomes',
      { latenciesMs: fast.slice(0, 98), status503: 1, timeouts: 1 },
      'error_rate < 1%',
      'fail',
    ],
    ['error rate just under', { latenciesMs: fast, status503: 0 }, 'error_rate < 1%', 'pass'],
    ['achieved rate', { latenciesMs: fast, sent: 90 }, 'rps >= 95', 'fail'],
  ])('%s', (_name, opts, threshold, verdict) => {
    const step = judgeStep(spec, [window(1, 0, opts), window(2, 0, opts)], thresholds(threshold))
    expect(step.verdict).toBe(verdict)
  })

  it(`counts a step's sends by intended window: one that slips past a second boundary still belongs to its \
step`, () => {
    const step = judgeStep(
      spec,
      [window(1, 0, { latenciesMs: fast, sent: 99 }), window(2, 0, { latenciesMs: fast, sent: 101 })],
      [],
    )
    expect(step.sent).toBe(200)
    expect(step.planned).toBe(200)
    expect(step.achievedRps).toBe(100)
  })

  it('counts errors by class', () => {
    const step = judgeStep(
      spec,
      [window(1, 0, { latenciesMs: fast, status503: 3, timeouts: 2 }), window(2, 0, { latenciesMs: fast })],
      [],
    )
    expect(step.errorsByClass).toMatchObject({ status: { '503': 3 }, timeout: 2 })
    expect(step.errors).toBe(5)
    expect(step.errorRate).toBeCloseTo(5 / 205, 6)
  })

  it('a latency threshold with no successful response fails: no data is no evidence', () => {
    const step = judgeStep(
      spec,
      [window(1, 0, { timeouts: 10 }), window(2, 0, { timeouts: 10 })],
      thresholds('p99 < 800ms'),
    )
    expect(step.verdict).toBe('fail')
    expect(step.thresholds[0]).toMatchObject({ observed: null, pass: false })
  })

  it('a step whose windows did not all arrive is aborted, not passed', () => {
    expect(judgeStep(spec, [window(1, 0, { latenciesMs: fast })], thresholds('p99 < 800ms')).verdict).toBe('aborted')
    expect(
      judgeStep(spec, [window(1, 0, { latenciesMs: fast }), window(2, 0, { latenciesMs: fast, complete: false })], [])
        .verdict,
    ).toBe('aborted')
  })

  it('carries the generator-limited mark', () => {
    expect(
      judgeStep(spec, [window(1, 0, { latenciesMs: fast, limited: true }), window(2, 0, { latenciesMs: fast })], [])
        .generatorLimited,
    ).toBe(true)
  })
})

describe('run verdict', () => {
  const step = (index: number, verdict: 'pass' | 'fail' | 'aborted') => ({
    ...judgeStep(
      { ...spec, index },
      [window(1, index, { latenciesMs: fast }), window(2, index, { latenciesMs: fast })],
      thresholds('p99 < 800ms'),
    ),
    plannedRps: (index + 1) * 100,
    verdict,
  })

  it.each([
    ['all passed', [step(0, 'pass'), step(1, 'pass')], 2, undefined, 'pass', 200],
    [
      'stops at the first failure; capacity is the last passing step',
      [step(0, 'pass'), step(1, 'pass'), step(2, 'fail')],
      5,
      undefined,
      'fail',
      200,
    ],
    [
      'continue mode: capacity stays at the knee',
      [step(0, 'pass'), step(1, 'fail'), step(2, 'pass')],
      3,
      undefined,
      'fail',
      100,
    ],
    ['stopped early is never a pass', [step(0, 'pass')], 3, 'run stopped before it finished', 'error', 100],
    [
      'a stop after every step was judged loses nothing',
      [step(0, 'pass'), step(1, 'pass')],
      2,
      'run stopped before it finished',
      'pass',
      200,
    ],
    ['missing steps are never a pass', [step(0, 'pass')], 2, undefined, 'error', 100],
    ['nothing passed', [step(0, 'fail')], 2, undefined, 'fail', null],
  ] as const)('%s', (_name, steps, planned, stopped, verdict, capacity) => {
    const plannedRps = Array.from({ length: planned }, (_, i) => (i + 1) * 100)
    const judgement = judgeRun({ steps: [...steps], plannedRps, ...(stopped ? { stoppedBy: stopped } : {}) })
    expect(judgement.verdict).toBe(verdict)
    expect(judgement.capacityRps).toBe(capacity)
    if (verdict !== 'pass') expect(judgement.reasons.length).toBeGreaterThan(0)
  })
})

describe('the verdict of a run with a decision section', () => {
  const rps = [100, 200, 300]
  const passed = (count: number) => rps.slice(0, count).map((_, i) => step(i))
  const step = (index: number) => ({
    ...judgeStep(
      { ...spec, index, rps: rps[index]! },
      [window(1, index, { latenciesMs: fast }), window(2, index, { latenciesMs: fast })],
      thresholds('p99 < 800ms'),
    ),
  })
  it.each([
    [
      'every step advanced: pass, capacity the highest advanced step',
      new Set([0, 1, 2]),
      undefined,
      undefined,
      'pass',
      300,
    ],
    [
      'a rollback in step 2: fail, capacity the last step advanced before it',
      new Set([0]),
      { step: 1, reason: 'guard p99-slo: 3 of the last 5 spans failed', at: '' },
      undefined,
      'fail',
      100,
    ],
    [
      'stopped before the gate promoted every step: error, never pass',
      new Set([0, 1]),
      undefined,
      'run stopped before it finished',
      'error',
      200,
    ],
    [
      'a leak after the load: fail, capacity unchanged',
      new Set([0, 1, 2]),
      { step: 2, reason: 'leak guard rss: grew', at: '', afterLoad: true },
      undefined,
      'fail',
      300,
    ],
  ])('%s', (_name, advanced, rollback, stoppedBy, verdict, capacity) => {
    // The steps the run judged: all three, except those a rollback or a stop cut off.
    const steps = passed(rollback && !('afterLoad' in rollback) ? rollback.step : stoppedBy ? 2 : 3)
    const judged = judgeRun({
      steps,
      plannedRps: rps,
      advanced,
      ...(rollback ? { rollback } : {}),
      ...(stoppedBy ? { stoppedBy } : {}),
    })
    expect(judged.verdict).toBe(verdict)
    expect(judged.capacityRps).toBe(capacity)
  })
  it('says where and why it rolled back', () => {
    const judged = judgeRun({
      steps: passed(1),
      plannedRps: rps,
      advanced: new Set([0]),
      rollback: { step: 1, reason: 'guard errors-abort: a span failed (at 9s)', at: '' },
    })
    expect(judged.reasons[0]).toBe('rolled back in step 2 (200 rps): guard errors-abort: a span failed (at 9s)')
  })
})
