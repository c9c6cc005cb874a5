import { compare, type Threshold } from './condition.js'
import { measure, type Measurement } from './measure.js'
import type { SampleStats } from './sample-stats.js'

/** What the data says about a condition: met for sure, broken for sure, or not enough to tell. */
export type Confidence = 'pass' | 'fail' | 'insufficient'

export interface Evidence extends Measurement {
  limit: number
  confidence: Confidence
}

/**
 * PASS when even the unfavourable bound meets the limit, FAIL when even the favourable bound breaks it,
 * otherwise INSUFFICIENT. A side the data cannot bound can never prove a PASS.
 */
export function judgeBounds(
  threshold: Pick<Threshold, 'operator' | 'limit'>,
  lower: number | null,
  upper: number | null,
): Confidence {
  const upward = threshold.operator === '<' || threshold.operator === '<=' // healthy when small
  const worst = upward ? upper : lower
  const best = upward ? lower : upper
  if (worst !== null && compare(worst, threshold.operator, threshold.limit)) return 'pass'
  if (best !== null && !compare(best, threshold.operator, threshold.limit)) return 'fail'
  return 'insufficient'
}

/** A measurement held against a limit. */
export function judged(condition: Pick<Threshold, 'operator' | 'limit'>, measurement: Measurement): Evidence {
  return {
    ...measurement,
    limit: condition.limit,
    confidence: judgeBounds(condition, measurement.lower, measurement.upper),
  }
}

/** How sure pooled data makes a threshold's outcome (95% bounds; see intervals.ts). */
export function evidence(threshold: Threshold, stats: SampleStats): Evidence {
  return judged(threshold, measure(threshold.metric, stats))
}
