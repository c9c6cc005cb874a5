import type { Histogram } from '@gauntlet/metrics'
import { compare, type Threshold } from '../scenario/thresholds.js'
import { quantileRanks, wilson } from './intervals.js'

/** What the data says about a condition: met for sure, broken for sure, or not enough to tell. */
export type Confidence = 'pass' | 'fail' | 'insufficient'

export interface Evidence {
  /** Samples behind the estimate (requests with an outcome, or successful responses for latency). */
  n: number
  estimate: number | null
  /** 95% bounds, in the threshold's unit; null where the data cannot bound that side. */
  lower: number | null
  upper: number | null
  limit: number
  confidence: Confidence
}

/**
 * PASS when even the unfavourable bound meets the limit, FAIL when even the favourable bound breaks it,
 * otherwise INSUFFICIENT. A side the data cannot bound can never prove a PASS.
 */
export function judgeBounds(threshold: Pick<Threshold, 'operator' | 'limit'>, lower: number | null, upper: number | null): Confidence {
  const upward = threshold.operator === '<' || threshold.operator === '<=' // healthy when small
  const worst = upward ? upper : lower
  const best = upward ? lower : upper
  if (worst !== null && compare(worst, threshold.operator, threshold.limit)) return 'pass'
  if (best !== null && !compare(best, threshold.operator, threshold.limit)) return 'fail'
  return 'insufficient'
}

/** Evidence for an error rate: errors of `completed`, as a fraction, with the Wilson interval. */
export function rateEvidence(threshold: Threshold, errors: number, completed: number): Evidence {
  const interval = wilson(errors, completed)
  const lower = interval?.lower ?? null
  const upper = interval?.upper ?? null
  return { n: completed, estimate: completed > 0 ? errors / completed : null, lower, upper, limit: threshold.limit, confidence: judgeBounds(threshold, lower, upper) }
}

/** Evidence for a latency quantile (ms) from the merged histogram (µs), with the order-statistic interval. */
export function quantileEvidence(threshold: Threshold, histogram: Histogram, q: number): Evidence {
  const n = histogram.totalCount
  const valueAtRank = (rank: number): number => Math.round(histogram.getValueAtPercentile((rank / n) * 100)) / 1000
  const ranks = quantileRanks(n, q)
  // Below the smallest sample the quantile is still at least 0 ms.
  const lower = n === 0 ? null : ranks.lower === null ? 0 : valueAtRank(ranks.lower)
  const upper = ranks.upper === null ? null : valueAtRank(ranks.upper)
  const estimate = n === 0 ? null : Math.round(histogram.getValueAtPercentile(q * 100)) / 1000
  return { n, estimate, lower, upper, limit: threshold.limit, confidence: judgeBounds(threshold, lower, upper) }
}

/** A measured value with no sampling error (achieved rate, maximum): its bounds are itself. */
export function exactEvidence(threshold: Threshold, value: number | null, n: number): Evidence {
  return { n, estimate: value, lower: value, upper: value, limit: threshold.limit, confidence: value === null ? 'insufficient' : judgeBounds(threshold, value, value) }
}
