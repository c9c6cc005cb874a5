import { errorClasses, type ErrorClass, type Impact, type RunReport, type WindowReport } from '@gauntlet/contracts'
import { measureChange, type Baseline } from '../../decision/baseline.js'
import type { ChangeCondition } from '../../decision/condition.js'
import { measure } from '../../decision/measure.js'
import { sampleStats } from '../../decision/sample-stats.js'
import type { Incident } from './incident.js'

const change = (metric: ChangeCondition['metric'], direction: ChangeCondition['direction']): ChangeCondition => ({
  source: `${metric} ${direction}`,
  metric,
  direction,
  operator: '<',
  limit: 0,
  relative: false,
})

/**
 * The incident's seconds against the prefault baseline, with the baseline guard's own statistics
 * (measureChange): the success-rate drop with Newcombe's interval, each quantile's rise with its
 * order-statistic bounds. undefined without a baseline second or a second during it.
 */
export function measureImpact(report: RunReport, incident: Incident): Impact | null {
  if (incident.baseline.length === 0 || incident.during.length === 0) return null
  const baseline: Baseline = { source: incident.baselineSource, stats: sampleStats(incident.baseline) }
  const during = sampleStats(incident.during)
  const drop = measureChange(change('success_rate', 'drop'), during, baseline)
  const pp = (v: number | null): number | null => (v === null ? null : Math.round(v * 10_000) / 100)
  const latency = (['p50', 'p90', 'p99'] as const).map((quantile) => {
    const rise = measureChange(change(quantile, 'rise'), during, baseline)
    return {
      quantile,
      baselineMs: rise.baseline.estimate,
      duringMs: measure(quantile, during).estimate,
      changeMs: { estimate: us(rise.estimate), lower: us(rise.lower), upper: us(rise.upper) },
    }
  })
  const before = classRates(report, incident.baseline)
  const inside = classRates(report, incident.during)
  const after = incident.after.length > 0 ? classRates(report, incident.after) : undefined
  return {
    baseline: {
      fromS: incident.baseline[0]!.index,
      toS: incident.baseline.at(-1)!.index + 1,
      source: incident.baselineSource,
    },
    during: { fromS: incident.during[0]!.index, toS: incident.during.at(-1)!.index + 1 },
    successRateDropPp: { estimate: pp(drop.estimate), lower: pp(drop.lower), upper: pp(drop.upper) },
    latency,
    // Only the classes seen in some period: a table of zeros tells the reader nothing.
    errorClasses: errorClasses
      .filter((c) => before[c] > 0 || inside[c] > 0 || (after?.[c] ?? 0) > 0)
      .map((c) => ({ class: c, before: before[c], during: inside[c], after: after ? after[c] : null })),
  }
}

/** Milliseconds to the microsecond (the histograms' unit): no float dust in the report. */
const us = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000)

/** Errors of each chart class over the seconds' completed requests (the chart's own per-second columns). */
export function classCounts(
  report: RunReport,
  windows: readonly WindowReport[],
): { completed: number; errors: Record<ErrorClass, number> } {
  const seconds = report.chart.seconds
  const wanted = new Set(windows.map((w) => w.index))
  const errors = Object.fromEntries(errorClasses.map((c) => [c, 0])) as Record<ErrorClass, number>
  let completed = 0
  seconds.t.forEach((t, i) => {
    if (!wanted.has(t)) return
    completed += seconds.completed[i]!
    for (const c of errorClasses) errors[c] += seconds.errors[c][i]!
  })
  return { completed, errors }
}

function classRates(report: RunReport, windows: readonly WindowReport[]): Record<ErrorClass, number> {
  const { completed, errors } = classCounts(report, windows)
  return Object.fromEntries(errorClasses.map((c) => [c, completed > 0 ? errors[c] / completed : 0])) as Record<
    ErrorClass,
    number
  >
}
