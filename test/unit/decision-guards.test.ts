import { describe, expect, it } from 'vitest'
import { measureChange } from '../../apps/controller/src/decision/baseline.js'
import { EvaluationSpans } from '../../apps/controller/src/decision/evaluation-span.js'
import type { Confidence } from '../../apps/controller/src/decision/evidence.js'
import {
  enterStep,
  gate,
  initialGuardState,
  observeSpan,
  type GuardState,
} from '../../apps/controller/src/decision/guard-state.js'
import { sampleStats } from '../../apps/controller/src/decision/sample-stats.js'
import { parseChange } from '../../apps/controller/src/scenario/thresholds.js'
import { bucket } from '../helpers/buckets.js'

const abort = { trip: { m: 1, n: 1 }, clearK: null }
const slo = { trip: { m: 3, n: 5 }, clearK: 2 }
const letters: Record<string, Confidence> = { P: 'pass', F: 'fail', I: 'insufficient' }

/** Feeds a verdict string ("PFFI...") through a guard; the clear verdicts equal the main ones unless given. */
function run(
  guard: { trip: { m: number; n: number }; clearK: number | null },
  verdicts: string,
  clearVerdicts = verdicts,
): { state: GuardState; events: string[] } {
  let state = initialGuardState
  const events: string[] = []
  ;[...verdicts].forEach((v, i) => {
    const next = observeSpan(guard, state, letters[v]!, letters[clearVerdicts[i]!]!)
    state = next.state
    events.push(next.event ?? '-')
  })
  return { state, events }
}

describe('guard state machines', () => {
  it.each([
    // guard, windows, events, tripped at the end
    ['abort', abort, 'PPIF', '---trip', true],
    ['abort never clears', abort, 'FPPPP', 'trip----', true],
    ['slo: 2 of 5 is not enough', slo, 'FPFPP', '-----', false],
    ['slo: the third FAIL within 5 trips', slo, 'FPFPF', '----trip', true],
    ['slo: FAILs spread wider than 5 windows do not', slo, 'FPPPPFPPPPF', '-----------', false],
    ['slo: INSUFFICIENT counts for nothing', slo, 'FIFIIF', '------', false],
    ['slo: clears after 2 PASS at the clear limit', slo, 'FFFPP', '--trip-clear', false],
    ['slo: an INSUFFICIENT between PASSes restarts the clear count', slo, 'FFFPIP', '--trip---', true],
  ])('%s', (_name, guard, verdicts, events, tripped) => {
    const result = run(guard, verdicts)
    expect(result.events.join('')).toBe(events)
    expect(result.state.tripped).toBe(tripped)
  })

  it(`hysteresis: a target hovering at the limit (PASS at require, not at the tighter clear limit) \
stays tripped`, () => {
    // After the trip every window passes require but fails the clear condition.
    const result = run(slo, 'FFFPPPPPP', 'FFFFFFFFF')
    expect(result.events.filter((e) => e !== '-')).toEqual(['trip'])
    expect(result.state.tripped).toBe(true)
  })

  it('a flapping target (alternating FAIL and PASS) trips once and is not cleared by its passes', () => {
    const result = run(slo, 'FPFPFPFPFPFP')
    expect(result.events.filter((e) => e !== '-')).toEqual(['trip'])
    expect(result.state.tripped).toBe(true)
  })

  it('a new step starts its pass streak and m-of-n memory over, and keeps a trip', () => {
    const before = run(slo, 'FFP').state
    const next = enterStep({ ...before, tripped: true })
    expect(next).toMatchObject({ recent: [], passStreak: 0, tripped: true })
  })
})

describe('step gate', () => {
  const guard = (name: string, passStreak: number, extra: Partial<GuardState> = {}, dryRun = false) => ({
    config: { name, dryRun },
    state: { ...initialGuardState, passStreak, ...extra },
  })
  it.each([
    ['every guard passed promoteAfter windows', [guard('a', 2), guard('b', 3)], 0, 'advance'],
    ['one guard short of promoteAfter: hold', [guard('a', 2), guard('b', 1)], 0, 'hold'],
    ['still short when maxHold is spent: roll back (fail closed)', [guard('a', 2), guard('b', 1)], 60, 'rollback'],
    ['a tripped guard rolls back at once', [guard('a', 5, { tripped: true })], 0, 'rollback'],
    [
      'a dry-run guard neither holds nor rolls back',
      [guard('a', 2), guard('dry', 0, { tripped: true }, true)],
      0,
      'advance',
    ],
  ])('%s', (_name, guards, heldS, action) => {
    expect(gate({ guards, promoteAfter: 2, heldS, maxHoldS: 60 }).action).toBe(action)
  })

  it('the hold names who is short, and the rollback after maxHold says how long it held', () => {
    expect(gate({ guards: [guard('p99-slo', 1)], promoteAfter: 2, heldS: 0, maxHoldS: 60 }).reason).toBe(
      'not enough passing spans yet: p99-slo 1/2',
    )
    expect(gate({ guards: [guard('p99-slo', 1)], promoteAfter: 2, heldS: 60, maxHoldS: 60 }).reason).toContain(
      'held 60s (maxHold 60s)',
    )
  })

  it('property: no sequence of INSUFFICIENT windows, however long or mixed with FAILs, ever advances a step', () => {
    let seed = 42
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let trial = 0; trial < 2000; trial++) {
      let state = initialGuardState
      const length = 1 + Math.floor(random() * 40)
      const guardConfig =
        random() < 0.5 ? slo : { trip: { m: 1 + Math.floor(random() * 3), n: 5 }, clearK: 1 + Math.floor(random() * 3) }
      for (let i = 0; i < length; i++) {
        const v: Confidence = random() < 0.8 ? 'insufficient' : 'fail'
        state = observeSpan(guardConfig, state, v, random() < 0.5 ? 'insufficient' : 'fail').state
        const outcome = gate({
          guards: [{ config: { name: 'g', dryRun: false }, state }],
          promoteAfter: 1 + Math.floor(random() * 3),
          heldS: Math.floor(random() * 120),
          maxHoldS: 60,
        })
        expect(outcome.action, `trial ${trial} window ${i}`).not.toBe('advance')
        expect(state.passStreak).toBe(0)
      }
    }
  })
})

describe('evaluation windows', () => {
  it('closes at minSamples requests, at the shortest run of buckets that holds them', () => {
    const windows = new EvaluationSpans(250, 10)
    expect(windows.add(bucket(0, { ok: 100 }))).toBeUndefined()
    expect(windows.add(bucket(1, { ok: 100 }))).toBeUndefined()
    expect(windows.add(bucket(2, { ok: 40, errors: 10 }))?.map((b) => b.index)).toEqual([0, 1, 2])
    expect(windows.add(bucket(3, { ok: 300 }))?.map((b) => b.index)).toEqual([3])
  })

  it('closes at maxWindow seconds when traffic is too thin, so a quiet target is judged on what it sent', () => {
    const windows = new EvaluationSpans(1000, 3)
    expect(windows.add(bucket(0, { ok: 10 }))).toBeUndefined()
    expect(windows.add(bucket(1, { ok: 10 }))).toBeUndefined()
    expect(windows.add(bucket(2, { ok: 10 }))?.length).toBe(3)
  })

  it('counts the span in run seconds, so a gap in the buckets does not stretch a window', () => {
    const windows = new EvaluationSpans(1000, 3)
    windows.add(bucket(0, { ok: 10 }))
    expect(windows.add(bucket(2, { ok: 10 }))?.map((b) => b.index)).toEqual([0, 2])
  })

  it('a reset (new step) drops the open window', () => {
    const windows = new EvaluationSpans(150, 10)
    windows.add(bucket(0, { ok: 100 }))
    windows.reset()
    expect(windows.add(bucket(1, { ok: 100 }))).toBeUndefined()
  })
})

describe('baseline change', () => {
  const condition = (text: string) => {
    const parsed = parseChange(text)
    if (!parsed.ok) throw new Error(parsed.message)
    return parsed.condition
  }
  it(`rates: Newcombe's hybrid score interval for a difference of proportions (Newcombe 1998, 56/70 vs 48/80: \
0.0524 to 0.3339)`, () => {
    const base = { source: 'test', stats: sampleStats([bucket(0, { ok: 56, errors: 14 })]) }
    const window = sampleStats([bucket(1, { ok: 48, errors: 32 })])
    const change = measureChange(condition('success_rate drop < 2pp'), window, base)
    expect(change.estimate).toBeCloseTo(0.2, 10)
    expect(change.lower).toBeCloseTo(0.0524, 4)
    expect(change.upper).toBeCloseTo(0.3339, 4)
    expect(change.baseline).toEqual({ source: 'test', n: 70, estimate: 0.8 })
  })

  it('latency rise is the window interval against the baseline estimate, absolute or relative', () => {
    const base = { source: 'test', stats: sampleStats([bucket(0, { ok: 1000, latencyMs: 10 })]) }
    const window = sampleStats([bucket(1, { ok: 1000, latencyMs: 15 })])
    expect(measureChange(condition('p50 rise < 2ms'), window, base)).toMatchObject({
      estimate: expect.closeTo(5, 1) as number,
      lower: expect.closeTo(5, 1) as number,
      upper: expect.closeTo(5, 1) as number,
    })
    // Histogram buckets put 15 ms at 14.99 ms: relative to 10 ms that is +49.9%.
    expect(measureChange(condition('p50 rise < 20%'), window, base).estimate).toBeCloseTo(0.5, 2)
  })

  it('no baseline data: no estimate and no bounds (INSUFFICIENT), never a pass', () => {
    const change = measureChange(condition('success_rate drop < 2pp'), sampleStats([bucket(1)]), {
      source: 'none',
      stats: sampleStats([]),
    })
    expect(change).toMatchObject({ estimate: null, lower: null, upper: null })
  })
})

describe('error rates by class', () => {
  it('each class is its share of requests with an outcome, with its own Wilson interval', async () => {
    const { emptyErrorCounts } = await import('@gauntlet/contracts')
    const { measure } = await import('../../apps/controller/src/decision/measure.js')
    const { parseThreshold } = await import('../../apps/controller/src/scenario/thresholds.js')
    const b = bucket(0, { ok: 85 })
    const errors = emptyErrorCounts()
    Object.assign(errors, { timeout: 4, reset: 1, refused: 0, other: 0 })
    errors.status['503'] = 3
    errors.status['404'] = 2
    errors.status['302'] = 5
    const stats = sampleStats([{ ...b, errors }])
    expect(stats.completed).toBe(100)
    expect(measure('http_3xx_rate', stats).estimate).toBe(0.05)
    expect([
      measure('timeout_rate', stats).estimate,
      measure('reset_rate', stats).estimate,
      measure('refused_rate', stats).estimate,
    ]).toEqual([0.04, 0.01, 0])
    expect([
      measure('http_5xx_rate', stats).estimate,
      measure('http_4xx_rate', stats).estimate,
      measure('error_rate', stats).estimate,
    ]).toEqual([0.03, 0.02, 0.15])
    expect(parseThreshold('timeout_rate < 0.1%')).toMatchObject({
      ok: true,
      threshold: { metric: 'timeout_rate', limit: 0.001 },
    })
    expect(parseChange('http_5xx_rate rise < 1pp')).toMatchObject({
      ok: true,
      condition: { direction: 'rise', limit: 0.01, relative: false },
    })
    expect(parseThreshold('reset_rate < 2ms')).toMatchObject({
      ok: false,
      message: expect.stringContaining('does not apply to reset_rate') as string,
    })
  })
})
