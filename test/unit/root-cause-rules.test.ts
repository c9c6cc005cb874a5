import type { FaultSpan, FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { sampleStats } from '../../apps/controller/src/decision/sample-stats.js'
import { baselineBounds, beyondBounds, recoveredAt } from '../../apps/controller/src/report/root-cause/degradation.js'
import { findIncident } from '../../apps/controller/src/report/root-cause/incident.js'
import { measureImpact } from '../../apps/controller/src/report/root-cause/impact.js'
import { rankSuspects } from '../../apps/controller/src/report/root-cause/rank.js'
import { explainBandwidth } from '../../apps/controller/src/report/root-cause/rules/bandwidth-fault.js'
import { explainDelay } from '../../apps/controller/src/report/root-cause/rules/delay-fault.js'
import { faultSuspects } from '../../apps/controller/src/report/root-cause/rules/fault-suspects.js'
import { generatorSuspect } from '../../apps/controller/src/report/root-cause/rules/generator.js'
import { explainLoss } from '../../apps/controller/src/report/root-cause/rules/loss-fault.js'
import { explainPartition } from '../../apps/controller/src/report/root-cause/rules/partition-fault.js'
import { explainReset } from '../../apps/controller/src/report/root-cause/rules/reset-fault.js'
import type { Candidate, RuleContext } from '../../apps/controller/src/report/root-cause/rules/rule.js'
import { targetMetricSuspects } from '../../apps/controller/src/report/root-cause/rules/target-metric.js'
import { faultRecord, reportOf, second, seconds, tripDecision, type RunOpts } from './root-cause-fixtures.js'
import type { WindowReport } from '@gauntlet/contracts'

const span: FaultSpan = {
  id: 'f',
  type: 'delay',
  mechanism: 'proxy',
  startS: 8,
  endS: 13,
  plannedStartS: 8,
  plannedEndS: 13,
}
const spec = (extra: Partial<FaultSpec>): FaultSpec => ({
  id: 'f',
  type: 'delay',
  mechanism: 'proxy',
  target: { container: 'api' },
  durationMs: 5000,
  ...extra,
})

/** The context a rule gets for these windows, as findRootCause builds it. */
function contextOf(windows: WindowReport[], o: RunOpts = {}, degradedAtS?: number): RuleContext {
  const report = reportOf(windows, o)
  const incident = findIncident(report, windows)!
  return {
    report,
    windows,
    incident,
    impact: measureImpact(report, incident),
    ...(degradedAtS !== undefined ? { degradedAtS } : {}),
  }
}

describe('fault rules: what each mechanism explains', () => {
  it('delay: timeouts only when delay + base p50 exceeds the request timeout (netem pays it twice)', () => {
    const beyond = explainDelay({ span, spec: spec({ latencyMs: 600 }), requestTimeoutMs: 500, baseP50Ms: 5 })
    expect(beyond).toMatchObject({ errors: ['timeout'], latency: true })
    expect(beyond.evidence[0]).toBe('delay 600ms + base p50 5ms = up to 605ms, beyond the 500ms request timeout')
    const within = explainDelay({ span, spec: spec({ latencyMs: 300 }), requestTimeoutMs: 500, baseP50Ms: 5 })
    expect(within).toMatchObject({ errors: [], latency: true })
    const netem = explainDelay({
      span: { ...span, mechanism: 'netem' },
      spec: spec({ latencyMs: 300, mechanism: 'netem' }),
      requestTimeoutMs: 500,
      baseP50Ms: 5,
    })
    expect(netem.errors).toEqual(['timeout'])
    expect(netem.evidence[0]).toMatch(/paid twice on a new connection: netem\) \+ base p50 5ms = up to 605ms/)
    const unknown = explainDelay({ span, baseP50Ms: 5 })
    expect(unknown).toMatchObject({ errors: ['timeout'], latency: true })
    expect(unknown.evidence[0]).toMatch(/not in what the run stored/)
  })

  it('bandwidth: latency grows with response size; the size that cannot arrive within the timeout', () => {
    const e = explainBandwidth({
      span,
      spec: spec({ type: 'bandwidth', rateBitsPerS: 8e6 }),
      requestTimeoutMs: 2000,
      baseP50Ms: 1,
    })
    expect(e).toMatchObject({ errors: ['timeout'], latency: true })
    expect(e.evidence).toEqual([
      'rate 8 mbit/s: every 100 kB of response takes at least 100ms',
      'a response over 2000 kB cannot arrive within the 2000ms request timeout',
    ])
    expect(e.reason).toMatch(/latency grows with response size/)
  })

  it('loss, partition and reset: the error classes each causes', () => {
    expect(explainLoss({ span, spec: spec({ type: 'loss', percent: 30 }), baseP50Ms: 1 })).toMatchObject({
      errors: ['reset', 'timeout'],
      latency: true,
      evidence: ['30% of packets dropped'],
    })
    expect(explainPartition({ span, spec: spec({ type: 'partition' }), baseP50Ms: 1 })).toMatchObject({
      errors: ['refused', 'timeout'],
      latency: false,
      evidence: ['cut off from every peer'],
    })
    expect(explainReset({ span, spec: spec({ type: 'reset', port: 8080 }), baseP50Ms: 1 })).toMatchObject({
      errors: ['reset', 'refused'],
      latency: false,
      evidence: ['on port 8080'],
    })
  })
})

describe('fault suspects', () => {
  const run = (during: Parameters<typeof second>[1], type: string): RuleContext =>
    contextOf(
      [...seconds(0, 8), ...seconds(8, 13, { ...during, faults: ['f'] }), ...seconds(13, 16)],
      { faults: [faultRecord('f', type, 'iptables', 8, 13)] },
      8,
    )

  it('scores a fault by the share of the excess errors in the classes it causes', () => {
    // A partition explains the refused, not the 500s: 60 of 100 excess errors a second.
    const [c] = faultSuspects(run({ ok: 0, refused: 60, status500: 40 }, 'partition'))
    expect(c).toMatchObject({ subject: 'f', score: 0.6, rankedBy: 'explains 60% of the excess errors (refused)' })
    expect(c!.evidence).toContain("refused: 300 errors beyond the baseline's rate of that class during the incident")
  })

  it('suspects nothing when nothing degraded, or the fault was not in place when it started', () => {
    expect(faultSuspects({ ...run({}, 'reset'), degradedAtS: undefined })).toEqual([])
    expect(faultSuspects({ ...run({ ok: 0, reset: 100 }, 'reset'), degradedAtS: 14 })).toEqual([])
  })

  it('suspects nothing a mechanism cannot cause (a partition while responses only slow down)', () => {
    expect(faultSuspects(run({ latencyMs: 300 }, 'partition'))).toEqual([])
  })
})

describe('generator rule', () => {
  it('names the load generator when the incident seconds were generator-limited (the step rule)', () => {
    const windows = [...seconds(0, 5), ...seconds(5, 10, { generatorLimited: true, lateSends: 40 })]
    const context = contextOf(windows, { decisions: [tripDecision('p99', 5, 7)] })
    expect(generatorSuspect(context)).toEqual([
      {
        kind: 'generator',
        subject: 'load generator',
        reason: expect.stringMatching(/the client, not the target, was the limit/) as string,
        evidence: [
          '5 of 5 judged seconds were generator-limited',
          '200 late sends, 0 dropped sends, send lag up to 150ms, up to 4 open connections',
        ],
        score: 1,
        rankedBy: "generator-limited in 100% of the incident's seconds",
      },
    ])
  })

  it("does not explain a leak guard's trip when no second degraded", () => {
    const windows = seconds(0, 6, { generatorLimited: true, lateSends: 40 })
    const leak = { ...tripDecision('rss-leak', -3, 9), source: 'leak' as const }
    expect(generatorSuspect(contextOf(windows, { decisions: [leak] }))).toEqual([])
    expect(generatorSuspect(contextOf(windows, { decisions: [tripDecision('p99', 0, 2)] }))).toHaveLength(1)
  })

  it('stays silent for one late second in ten (a step would stay sound too)', () => {
    const windows = [...seconds(0, 5), second(5, { generatorLimited: true, lateSends: 2 }), ...seconds(6, 15)]
    expect(generatorSuspect(contextOf(windows, { decisions: [tripDecision('p99', 5, 15)] }))).toEqual([])
  })
})

describe('target metric rule', () => {
  const windows = seconds(0, 10)
  const trip = tripDecision('errors', 4, 6)

  it('a series that grew and did not come back (the leak rule) ranks as a leak', () => {
    const points = [-2, -1, 0, 2, 4, 6, 8, 10, 11, 12].map((atS, i) => ({ atS, value: i < 2 ? 100 : 100 + i * 40 }))
    const [c] = targetMetricSuspects(
      contextOf(windows, {
        decisions: [trip],
        targetSeries: { rss: points },
        targetMetrics: [
          {
            series: 'rss',
            scrapes: 10,
            preLoad: 100,
            peak: 460,
            peakAtS: 12,
            end: 420,
            peakGrowth: 3.6,
            endGrowth: 3.2,
            growingSinceS: 0,
          },
        ],
      }),
    )
    expect(c).toMatchObject({ kind: 'target-metric', subject: 'rss', score: 0.4 })
    expect(c!.rankedBy).toBe('grew 360% and was still +320% after the load')
    expect(c!.evidence[0]).toMatch(/^rss grew 360% \(peak at second 12\) and was still \+320% after the load/)
  })

  it('a series that jumped over its prefault level during the incident and came back is a weaker suspect', () => {
    const points = [-1, 1, 2, 3, 5, 7, 12].map((atS) => ({ atS, value: atS >= 4 && atS < 10 ? 200 : 100 }))
    const [c] = targetMetricSuspects(
      contextOf(windows, {
        decisions: [trip],
        targetSeries: { conns: points },
        targetMetrics: [
          {
            series: 'conns',
            scrapes: 7,
            preLoad: 100,
            peak: 200,
            peakAtS: 5,
            end: 100,
            peakGrowth: 1,
            endGrowth: 0,
            growingSinceS: null,
          },
        ],
      }),
    )
    expect(c).toMatchObject({ subject: 'conns', score: 0.3, rankedBy: 'jumped +100% over its prefault level' })
  })

  it('a counter that always grows is no suspect of a harmless fault (nothing degraded, no guard tripped)', () => {
    const calm = [...seconds(0, 8), ...seconds(8, 13, { faults: ['f'] }), ...seconds(13, 16)]
    // CPU seconds double during the fault, as a counter does over any 5 seconds of load.
    const points = [1, 3, 5, 7, 9, 11, 13, 15].map((atS) => ({ atS, value: atS * 10 }))
    const options = { faults: [faultRecord('f', 'delay', 'proxy', 8, 13)], targetSeries: { cpu_seconds_total: points } }
    expect(targetMetricSuspects(contextOf(calm, options))).toEqual([])
    // The same series beside a second that went wrong is a suspect.
    expect(targetMetricSuspects(contextOf(calm, options, 9))).toMatchObject([{ subject: 'cpu_seconds_total' }])
  })

  it('a series that grew 40%: no suspect', () => {
    const points = [-1, 1, 2, 5, 7].map((atS) => ({ atS, value: atS >= 4 ? 140 : 100 }))
    expect(targetMetricSuspects(contextOf(windows, { decisions: [trip], targetSeries: { x: points } }))).toEqual([])
  })
})

describe('ranker', () => {
  const c = (subject: string, kind: Candidate['kind'], score: number): Candidate => ({
    kind,
    subject,
    reason: 'r',
    evidence: [],
    score,
    rankedBy: `by ${subject}`,
  })
  it('orders by score, then fault before generator before series, and says what #1 beat', () => {
    const ranked = rankSuspects([
      c('rss', 'target-metric', 0.4),
      c('load generator', 'generator', 0.5),
      c('f', 'fault', 0.5),
    ])
    expect(ranked.map((s) => [s.rank, s.subject])).toEqual([
      [1, 'f'],
      [2, 'load generator'],
      [3, 'rss'],
    ])
    expect(ranked[0]!.rankedBy).toBe('by f; ahead of load generator (by load generator)')
    expect(ranked[1]!.rankedBy).toBe('by load generator')
    expect(ranked[0]).not.toHaveProperty('score')
  })
  it('no candidate: no suspect', () => expect(rankSuspects([])).toEqual([]))
})

describe('degradation bounds', () => {
  const bounds = baselineBounds(sampleStats(seconds(0, 10)))
  it('a second is beyond only when its own 95% interval clears the baseline bound', () => {
    expect(beyondBounds(second(0, { ok: 99, status500: 1 }), bounds)).toBeUndefined()
    expect(beyondBounds(second(0, { ok: 80, status500: 20 }), bounds)).toMatch(/^error rate 20% \(95%: /)
    expect(beyondBounds(second(0, { latencyMs: 50 }), bounds)).toMatch(
      /^p99 52ms \(95% lower bound 51\.9ms\) above the baseline's 7ms$/,
    )
  })
  it('recovery: the first of 3 consecutive seconds inside the bounds; none by the end', () => {
    const bad = (i: number): WindowReport => second(i, { ok: 0, timeout: 100 })
    expect(recoveredAt([bad(0), second(1), second(2), bad(3), second(4), second(5), second(6)], 0, bounds)).toBe(4)
    expect(recoveredAt([bad(0), second(1), second(2)], 0, bounds)).toBeUndefined()
    // A missing second breaks the run of seconds.
    expect(recoveredAt([second(1), second(2), second(4)], 0, bounds)).toBeUndefined()
  })
})
