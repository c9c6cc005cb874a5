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
function judgeBounds(
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

/** A measurement held against a limit: the same 95%-bound rule for thresholds and guards. */
export function judgeMeasurement(condition: Pick<Threshold, 'operator' | 'limit'>, measurement: Measurement): Evidence {
  return {
    ...measurement,
    limit: condition.limit,
    confidence: judgeBounds(condition, measurement.lower, measurement.upper),
  }
}

/** How sure pooled data makes a threshold's outcome (95% bounds; see intervals.ts). */
export function thresholdEvidence(threshold: Threshold, stats: SampleStats): Evidence {
  return judgeMeasurement(threshold, measure(threshold.metric, stats))
}

/**
 * Why pooled data cannot vouch for health, if it cannot: a lost agent's missing share, or seconds
 * the load generator could not send on schedule (then the client, not the target, was the limit).
 * Such data can show a failure, never a pass.
 */
export function unsoundData(stats: Pick<SampleStats, 'degraded' | 'generatorLimited'>): string | undefined {
  if (stats.generatorLimited)
    return 'the load generator could not send on schedule (the client, not the target, was the limit)'
  if (stats.degraded) return 'a lost agent left its data short'
  return undefined
}

/** A PASS that the data cannot vouch for is INSUFFICIENT; a FAIL stays a FAIL. */
export const neverPass = (confidence: Confidence): Confidence => (confidence === 'pass' ? 'insufficient' : confidence)
