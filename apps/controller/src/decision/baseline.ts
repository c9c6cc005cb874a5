import { isRateMetric, type ChangeCondition } from './condition.js'
import { measure, type Measurement } from './measure.js'
import type { SampleStats } from './sample-stats.js'

/** What a baseline guard compares with, and where it came from ("prefault: 42 s before f1-delay", say). */
export interface Baseline {
  source: string
  stats: SampleStats
}

export interface ChangeMeasurement extends Measurement {
  baseline: { source: string; n: number; estimate: number | null }
}

/**
 * How far an evaluation span moved from its baseline, in the condition's unit, with 95% bounds:
 * - rates: the difference of two proportions with Newcombe's hybrid score interval (both sides'
 *   Wilson intervals, so a small baseline widens the interval too);
 * - latency quantiles and rps: the span's interval against the baseline's estimate (the baseline
 *   pools far more samples than one span, so its own error is left out; see docs/decisions.md).
 * Relative changes divide by the baseline's estimate.
 */
export function measureChange(condition: ChangeCondition, span: SampleStats, baseline: Baseline): ChangeMeasurement {
  const w = measure(condition.metric, span)
  const b = measure(condition.metric, baseline.stats)
  const base = { source: baseline.source, n: b.n, estimate: b.estimate }
  const none: ChangeMeasurement = { n: w.n, estimate: null, lower: null, upper: null, baseline: base }
  if (w.estimate === null || b.estimate === null) return none
  // Oriented so that a larger change is always worse: drop = baseline - span, rise = span - baseline.
  const [worse, better] = condition.direction === 'rise' ? [w, b] : [b, w]
  const estimate = worse.estimate! - better.estimate!
  let lower: number | null
  let upper: number | null
  if (isRateMetric(condition.metric)) {
    lower =
      worse.lower === null || better.upper === null
        ? null
        : estimate - Math.hypot(worse.estimate! - worse.lower, better.upper - better.estimate!)
    upper =
      worse.upper === null || better.lower === null
        ? null
        : estimate + Math.hypot(worse.upper - worse.estimate!, better.estimate! - better.lower)
  } else if (condition.direction === 'rise') {
    lower = w.lower === null ? null : w.lower - b.estimate
    upper = w.upper === null ? null : w.upper - b.estimate
  } else {
    lower = w.upper === null ? null : b.estimate - w.upper
    upper = w.lower === null ? null : b.estimate - w.lower
  }
  if (!condition.relative) return { n: w.n, estimate, lower, upper, baseline: base }
  if (b.estimate === 0) return none // a change relative to nothing is undefined
  const scale = (v: number | null): number | null => (v === null ? null : v / b.estimate!)
  return { n: w.n, estimate: estimate / b.estimate, lower: scale(lower), upper: scale(upper), baseline: base }
}
