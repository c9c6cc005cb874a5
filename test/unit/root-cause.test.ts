import type { FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { measureChange } from '../../apps/controller/src/decision/baseline.js'
import { sampleStats } from '../../apps/controller/src/decision/sample-stats.js'
import { findRootCause, type RootCausePlan } from '../../apps/controller/src/report/root-cause/root-cause.js'
import { faultRecord, iso, reportOf, second, seconds, tripDecision } from './root-cause-fixtures.js'

const delaySpec = (latencyMs: number): FaultSpec => ({
  id: 'slow',
  type: 'delay',
  mechanism: 'proxy',
  target: { container: 'api' },
  latencyMs,
  port: 8080,
  durationMs: 5000,
})
const plan = (latencyMs: number): RootCausePlan => ({ requestTimeoutMs: 500, faults: [delaySpec(latencyMs)] })

/** 20 s at 100 rps; a fault in place over [8, 13): `during` shapes those seconds. */
function faultRun(during: Parameters<typeof second>[1], type = 'delay', mechanism = 'proxy') {
  const windows = [...seconds(0, 8), ...seconds(8, 13, { ...during, faults: ['slow'] }), ...seconds(13, 20)]
  return { windows, report: reportOf(windows, { faults: [faultRecord('slow', type, mechanism, 8, 13)] }) }
}

describe('root cause of a run', () => {
  it('is null for a run with no fault and no tripped guard', () => {
    const windows = seconds(0, 10)
    expect(findRootCause({ report: reportOf(windows), windows })).toBeNull()
    // The builder wires it in.
    expect(reportOf(windows).rootCause).toBeNull()
  })

  it(`delay beyond the timeout: every request times out; the fault is suspect #1 by the share of excess errors, \
the timeline has start, first degraded second, end and recovery, and the impact is the baseline guard's`, () => {
    const { windows, report } = faultRun({ ok: 0, timeout: 100 })
    const rc = findRootCause({ report, windows, plan: plan(800) })!
    expect(rc.suspects).toHaveLength(1)
    expect(rc.suspects[0]).toMatchObject({
      rank: 1,
      kind: 'fault',
      subject: 'slow',
      rankedBy: 'explains 100% of the excess errors (timeout)',
    })
    expect(rc.suspects[0]!.reason).toMatch(/exceeds the 500ms request timeout/)
    expect(rc.suspects[0]!.evidence.join('\n')).toMatch(/delay 800ms \+ base p50 \d+(\.\d+)?ms = up to \d+/)
    expect(rc.timeline.map((e) => [e.kind, e.atS])).toEqual([
      ['fault-start', 8],
      ['degraded', 8],
      ['fault-end', 13],
      ['recovered', 13],
    ])
    expect(rc.timeline[0]!.at).toBe(iso(8))
    expect(rc.timeline[0]!.text).toBe('fault slow in place (delay via proxy, host injector)')
    // Baseline: judged seconds (after the 1 s warmup) before the fault.
    const impact = rc.impact!
    expect(impact.baseline).toMatchObject({ fromS: 1, toS: 8 })
    expect(impact.during).toEqual({ fromS: 8, toS: 13 })
    const expected = measureChange(
      { source: '', metric: 'success_rate', direction: 'drop', operator: '<', limit: 0, relative: false },
      sampleStats(windows.slice(8, 13)),
      { source: '', stats: sampleStats(windows.slice(1, 8)) },
    )
    expect(impact.successRateDropPp.estimate).toBe(100)
    expect(impact.successRateDropPp.lower).toBeCloseTo(expected.lower! * 100, 1)
    expect(impact.successRateDropPp.lower!).toBeGreaterThan(98)
    expect(impact.errorClasses).toEqual([{ class: 'timeout', before: 0, during: 1, after: 0 }])
    expect(rc.headline).toMatch(
      /^Success rate down 100 pp \(95%: 9\d\.\d+ to 100 pp\) from 0:08; under fault slow in place; most likely fault slow: explains 100% of the excess errors \(timeout\); recovered at 0:13$/,
    )
  })

  it('delay within the timeout: the fault explains the latency rise, with each quantile shifted and bounded', () => {
    const { windows, report } = faultRun({ latencyMs: 105 })
    const rc = findRootCause({ report, windows, plan: plan(100) })!
    expect(rc.suspects).toHaveLength(1)
    expect(rc.suspects[0]!.rankedBy).toMatch(/^explains the latency rise \(p50 \+100ms, p90 \+100ms, p99 \+100ms/)
    expect(rc.suspects[0]!.evidence.join('\n')).toMatch(/within the 500ms request timeout: it explains no timeout/)
    const p50 = rc.impact!.latency.find((l) => l.quantile === 'p50')!
    expect(p50.changeMs.estimate).toBeCloseTo(100, 0)
    expect(p50.changeMs.lower!).toBeGreaterThan(99)
    expect(rc.timeline.find((e) => e.kind === 'degraded')!.text).toMatch(/^first degraded second \(second 8\): p99 /)
    expect(rc.headline).toMatch(/^p99 up 100ms/)
  })

  it('without the plan, a delay fault is still suspected by its mechanism and says what it could not check', () => {
    const { windows, report } = faultRun({ ok: 0, timeout: 100 })
    // The builder itself passes no plan.
    const rc = report.rootCause!
    expect(rc.suspects[0]).toMatchObject({ subject: 'slow', rankedBy: 'explains 100% of the excess errors (timeout)' })
    expect(rc.suspects[0]!.evidence.join('\n')).toMatch(/not in what the run stored/)
    expect(findRootCause({ report, windows })).toEqual(rc)
  })

  it('a fault that harmed nothing: no suspect is invented and the headline says "no cause found"', () => {
    const { windows, report } = faultRun({})
    const rc = findRootCause({ report, windows, plan: plan(1) })!
    expect(rc.suspects).toEqual([])
    expect(rc.headline).toBe(
      'No change beyond the 95% bounds of the prefault baseline; under fault slow in place; no cause found',
    )
    expect(rc.timeline.map((e) => e.kind)).toEqual(['fault-start', 'fault-end'])
    expect(rc.impact!.successRateDropPp.lower!).toBeLessThanOrEqual(0)
  })

  it('errors the fault cannot cause are not pinned on it (a delay within the timeout, while 500s appear)', () => {
    const { windows, report } = faultRun({ ok: 50, status500: 50 })
    const rc = findRootCause({ report, windows, plan: plan(1) })!
    expect(rc.timeline.some((e) => e.kind === 'degraded')).toBe(true)
    expect(rc.suspects).toEqual([])
    expect(rc.headline).toMatch(/no cause found/)
  })

  it('not recovered by run end: the errors outlast the fault', () => {
    const windows = [
      ...seconds(0, 8),
      ...seconds(8, 13, { ok: 0, reset: 100, faults: ['cut'] }),
      ...seconds(13, 20, { ok: 0, reset: 100 }),
    ]
    const report = reportOf(windows, { faults: [faultRecord('cut', 'reset', 'iptables', 8, 13)] })
    const rc = report.rootCause!
    expect(rc.timeline.at(-1)).toMatchObject({ kind: 'not-recovered', atS: 20 })
    expect(rc.timeline.at(-1)!.text).toMatch(/^not recovered by run end \(never 3 s in a row/)
    expect(rc.headline).toMatch(/not recovered by run end$/)
    expect(rc.impact!.errorClasses).toEqual([{ class: 'reset', before: 0, during: 1, after: 1 }])
  })

  it('recovery needs 3 seconds in a row back inside the bounds', () => {
    const windows = [
      ...seconds(0, 8),
      ...seconds(8, 13, { ok: 0, timeout: 100, faults: ['slow'] }),
      second(13),
      second(14, { ok: 0, timeout: 100 }),
      ...seconds(15, 20),
    ]
    const report = reportOf(windows, { faults: [faultRecord('slow', 'delay', 'proxy', 8, 13)] })
    expect(report.rootCause!.timeline.find((e) => e.kind === 'recovered')!.atS).toBe(15)
  })

  it('a guard trip without faults: baseline before the trip span; the trip, rollback and hook are in the timeline', () => {
    const windows = [...seconds(0, 6), ...seconds(6, 9, { ok: 50, status500: 50 })]
    const report = reportOf(windows, {
      decisions: [tripDecision('errors', 6, 8)],
      rollback: { step: 0, guard: 'errors', reason: 'guard errors: a span failed', at: iso(8.2) },
      hooks: [
        {
          event: 'onRollback',
          url: 'http://hooks/rollback',
          step: 0,
          delivered: true,
          attempts: [
            { at: iso(8.3), ms: 5, error: 'ECONNREFUSED' },
            { at: iso(8.6), ms: 4, status: 204 },
          ],
        },
      ],
    })
    const rc = report.rootCause!
    expect(rc.impact!.baseline).toMatchObject({ fromS: 1, toS: 6 })
    expect(rc.impact!.baseline.source).toMatch(/before the trip's span/)
    expect(rc.timeline.map((e) => [e.kind, e.atS])).toEqual([
      ['degraded', 6],
      ['trip', 8],
      ['rollback', 8.2],
      ['hook', 8.3],
      ['not-recovered', 9],
    ])
    expect(rc.timeline.find((e) => e.kind === 'hook')!.text).toBe(
      'hook onRollback to http://hooks/rollback: delivered (2 attempts)',
    )
    // 500s: no fault, no generator limit, no target series: nothing to blame.
    expect(rc.suspects).toEqual([])
    expect(rc.headline).toMatch(
      /^Success rate down 50 pp .* from 0:06; under guard errors tripped; no cause found; not recovered by run end$/,
    )
  })

  it('a fault that was never applied: the timeline says why, and nothing is suspected', () => {
    const windows = seconds(0, 10)
    const never = {
      ...faultRecord('slow', 'delay', 'netem', 4, 8),
      appliedAt: null,
      revertedAt: null,
      error: 'no sch_netem',
    }
    const rc = reportOf(windows, { faults: [never] }).rootCause!
    expect(rc).toMatchObject({ impact: null, suspects: [] })
    expect(rc.timeline).toMatchObject([{ kind: 'fault-start', atS: 4, text: /never applied: no sch_netem/ }])
    expect(rc.headline).toBe('No fault was applied (slow: no sch_netem) and no guard tripped; no cause found')
  })
})
