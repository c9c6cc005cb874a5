import type { Histogram } from '@gauntlet/metrics'
import type { ThresholdMetric } from './condition.js'
import { quantileRanks, wilson } from './intervals.js'
import type { SampleStats } from './sample-stats.js'

/** A metric as the data gives it: the estimate and its 95% bounds (null where the data cannot bound a side). */
export interface Measurement {
  /** Samples behind it: requests with an outcome for rates, successful responses for latency, windows for rps. */
  n: number
  estimate: number | null
  lower: number | null
  upper: number | null
}

const quantileOf: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 }

/** The metric of a threshold or guard, measured on pooled windows, in the grammar's units (fraction, ms, rps). */
export function measure(metric: ThresholdMetric, stats: SampleStats): Measurement {
  switch (metric) {
    case 'error_rate':
      return rate(stats.errors, stats.completed)
    case 'success_rate':
      return rate(stats.ok, stats.completed)
    case 'timeout_rate':
      return rate(stats.errorsByClass.timeout, stats.completed)
    case 'refused_rate':
      return rate(stats.errorsByClass.refused, stats.completed)
    case 'reset_rate':
      return rate(stats.errorsByClass.reset, stats.completed)
    case 'tls_rate':
      return rate(stats.errorsByClass.tls ?? 0, stats.completed)
    case 'check_rate':
      return rate(stats.errorsByClass.check ?? 0, stats.completed)
    case 'http_3xx_rate':
      return rate(statusClass(stats, '3'), stats.completed)
    case 'http_4xx_rate':
      return rate(statusClass(stats, '4'), stats.completed)
    case 'http_5xx_rate':
      return rate(statusClass(stats, '5'), stats.completed)
    case 'rps':
      return exact(stats.windows > 0 ? stats.achievedRps : null, stats.windows)
    case 'max':
      return exact(stats.latency.maxMs, stats.latency.count)
    default:
      return quantile(stats.histogram, quantileOf[metric]!)
  }
}

/** Error responses whose status starts with `digit` (3xx, 4xx, 5xx); expected statuses are not errors. */
function statusClass(stats: SampleStats, digit: string): number {
  let n = 0
  for (const [status, count] of Object.entries(stats.errorsByClass.status)) if (status.startsWith(digit)) n += count
  return n
}

/** A rate with the Wilson interval. */
export function rate(hits: number, n: number): Measurement {
  const interval = wilson(hits, n)
  return { n, estimate: n > 0 ? hits / n : null, lower: interval?.lower ?? null, upper: interval?.upper ?? null }
}

/** A latency quantile (ms) from a histogram (µs), with the order-statistic interval. */
export function quantile(histogram: Histogram, q: number): Measurement {
  const n = histogram.totalCount
  // The value of the rank-th smallest sample: aiming half a rank low keeps floating-point error in
  // rank/n from landing on the next sample (HDR rounds the count up). Values are at HDR's resolution.
  const valueAtRank = (rank: number): number =>
    Math.round(histogram.getValueAtPercentile(((rank - 0.5) / n) * 100)) / 1000
  const ranks = quantileRanks(n, q)
  // Below the smallest sample the quantile is still at least 0 ms.
  const lower = n === 0 ? null : ranks.lower === null ? 0 : valueAtRank(ranks.lower)
  const upper = ranks.upper === null ? null : valueAtRank(ranks.upper)
  return { n, estimate: n === 0 ? null : Math.round(histogram.getValueAtPercentile(q * 100)) / 1000, lower, upper }
}

/** A value with no sampling error (achieved rate, maximum): its bounds are itself. */
export function exact(value: number | null, n: number): Measurement {
  return { n, estimate: value, lower: value, upper: value }
}
