import type { ObservedStep, WindowReport } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { parseThreshold, type Threshold } from '../../apps/controller/src/scenario/thresholds.js'
import { judgeStep, thresholdDecisions } from '../../apps/controller/src/decision/step-judgement.js'
import { bucket } from '../helpers/buckets.js'

const schedule = { index: 1, rps: 200, startS: 4, durationS: 4, warmupS: 1 }
const at = new Date('2026-11-27T06:00:00Z')
const thresholds = (...sources: string[]): Threshold[] =>
  sources.map((s) => {
    const parsed = parseThreshold(s)
    if (!parsed.ok) throw new Error(parsed.message)
    return parsed.threshold
  })
/** The step's seconds 4-7 (4 is its warmup), each `ok` fast answers and `errors` 500s. */
const seconds = (opts: { ok?: number; errors?: number } = {}): WindowReport[] =>
  [4, 5, 6, 7].map((i) => bucket(i, { step: 1, ok: 200, ...opts }))
const judged = (windows: WindowReport[], ...sources: string[]): ObservedStep =>
  judgeStep(schedule, windows, thresholds(...sources))

describe('decisions of a judged step', () => {
  it.each<[string, boolean, 'stop' | 'continue', string]>([
    ['a passing step advances', false, 'stop', 'advance'],
    ['a failing step stops the run', true, 'stop', 'stop'],
    ['a failing step goes on under onThresholdFail: continue', true, 'continue', 'continue'],
  ])('%s', (_name, failing, onFail, action) => {
    const windows = seconds(failing ? { ok: 190, errors: 10 } : {})
    const step = judged(windows, 'p99 < 800ms', 'error_rate < 1%')
    const decisions = thresholdDecisions(schedule, step, onFail, at)
    expect(decisions).toHaveLength(2)
    expect(decisions.every((d) => d.action === action && d.step === 1 && d.at === at.toISOString())).toBe(true)
    expect(decisions[1]!.verdict).toBe(failing ? 'fail' : 'pass')
  })

  it('carries the evidence and the judged seconds (after warmup)', () => {
    const [decision] = thresholdDecisions(schedule, judged(seconds(), 'p99 < 800ms'), 'stop', at)
    expect(decision).toMatchObject({ source: 'threshold', guard: 'p99 < 800ms', condition: 'p99 < 800ms' })
    expect(decision!.evidence).toMatchObject({ n: 600, limit: 800, confidence: 'pass' })
    expect(decision!.evidence.estimate).toBeCloseTo(5, 1)
    expect(decision!.evidence).toMatchObject({ windowStart: 5, windowEnd: 8 })
    expect(decision!.evidence.upper).toBeLessThan(800)
  })

  it('nothing measured is insufficient, never pass; a step cut short decides nothing', () => {
    const [decision] = thresholdDecisions(schedule, judged(seconds({ ok: 0, errors: 10 }), 'p99 < 800ms'), 'stop', at)
    expect(decision).toMatchObject({
      verdict: 'insufficient',
      action: 'stop',
      evidence: { n: 0, confidence: 'insufficient' },
    })
    const cut = judged(seconds().slice(0, 3), 'p99 < 800ms')
    expect(cut.verdict).toBe('aborted')
    expect(thresholdDecisions(schedule, cut, 'stop', at)).toEqual([])
  })
})
