import type { StepSummary, ThresholdResult } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { stepDecisions } from '../../apps/controller/src/decision/step-decisions.js'

const spec = { index: 1, rps: 200, startS: 4, durationS: 4, warmupS: 1 }
const at = new Date('2026-11-27T06:00:00Z')
const result = (over: Partial<ThresholdResult>): ThresholdResult => ({
  threshold: 'p99 < 800ms',
  metric: 'p99',
  observed: 120,
  limit: 800,
  pass: true,
  evidence: { n: 600, lower: 110, upper: 140, confidence: 'pass' },
  ...over,
})
const step = (verdict: StepSummary['verdict'], thresholds: ThresholdResult[]): StepSummary =>
  ({ index: 1, verdict, thresholds }) as unknown as StepSummary

describe('decisions of a judged step', () => {
  it.each<[string, StepSummary['verdict'], 'stop' | 'continue', string]>([
    ['a passing step advances', 'pass', 'stop', 'advance'],
    ['a failing step stops the run', 'fail', 'stop', 'stop'],
    ['a failing step goes on under onThresholdFail: continue', 'fail', 'continue', 'continue'],
  ])('%s', (_name, verdict, onFail, action) => {
    const decisions = stepDecisions(
      spec,
      step(verdict, [
        result({}),
        result({
          threshold: 'error_rate < 1%',
          metric: 'error_rate',
          observed: verdict === 'fail' ? 0.05 : 0,
          limit: 0.01,
          pass: verdict !== 'fail',
        }),
      ]),
      onFail,
      at,
    )
    expect(decisions).toHaveLength(2)
    expect(decisions.every((d) => d.action === action && d.step === 1 && d.at === at.toISOString())).toBe(true)
    expect(decisions[1]!.verdict).toBe(verdict === 'fail' ? 'fail' : 'pass')
  })

  it('carries the evidence and the judged seconds (after warmup)', () => {
    const [decision] = stepDecisions(spec, step('pass', [result({})]), 'stop', at)
    expect(decision!.evidence).toEqual({
      n: 600,
      estimate: 120,
      lower: 110,
      upper: 140,
      limit: 800,
      confidence: 'pass',
      windowStart: 5,
      windowEnd: 8,
    })
  })

  it('nothing measured is insufficient, never pass; a step cut short decides nothing', () => {
    const [decision] = stepDecisions(
      spec,
      step('fail', [
        result({
          observed: null,
          pass: false,
          evidence: { n: 0, lower: null, upper: null, confidence: 'insufficient' },
        }),
      ]),
      'stop',
      at,
    )
    expect(decision).toMatchObject({
      verdict: 'insufficient',
      action: 'stop',
      evidence: { n: 0, confidence: 'insufficient' },
    })
    expect(stepDecisions(spec, step('aborted', [result({})]), 'stop', at)).toEqual([])
  })
})
