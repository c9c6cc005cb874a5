import { totalErrors, type WindowReport } from '@gauntlet/contracts'
import { measure } from '../../decision/measure.js'
import { formatMs } from '../format-values.js'
import { sampleStats, type SampleStats } from '../../decision/sample-stats.js'

/**
 * When a second is "degraded": its own 95% interval lies wholly beyond the prefault baseline's 95%
 * interval, for the error rate (Wilson intervals: the second's lower bound above the baseline's upper
 * bound) or for p99 (order-statistic intervals: the second's lower bound above the baseline's upper
 * bound). Requiring the two intervals not to overlap keeps one unlucky second at a low rate (1 error of
 * 20) from being called a degradation. A baseline too small to bound its p99 from above (under ~300
 * responses) uses its largest response instead. Warmup seconds count here: the timeline says when
 * things went wrong, whatever the step's verdict excludes.
 */
export interface BaselineBounds {
  errorRateUpper: number | null
  p99UpperMs: number | null
}

/** How many seconds in a row must be back inside the baseline's bounds to call it recovered. */
export const recoverySustainS = 3

export function baselineBounds(baseline: SampleStats): BaselineBounds {
  const p99 = measure('p99', baseline)
  return {
    errorRateUpper: measure('error_rate', baseline).upper,
    p99UpperMs: p99.upper ?? baseline.latency.maxMs,
  }
}

/** Why one second is beyond the baseline's bounds ("error rate 100% (95%: 93-100%) > 0.9%"), or undefined. */
export function beyondBounds(window: WindowReport, bounds: BaselineBounds): string | undefined {
  const stats = sampleStats([window])
  const errors = measure('error_rate', stats)
  if (bounds.errorRateUpper !== null && errors.lower !== null && errors.lower > bounds.errorRateUpper)
    return `error rate ${pct(errors.estimate!)} (95%: ${pct(errors.lower)}-${pct(errors.upper!)}) above the baseline's ${pct(bounds.errorRateUpper)}`
  const p99 = measure('p99', stats)
  if (bounds.p99UpperMs !== null && p99.lower !== null && p99.lower > bounds.p99UpperMs)
    return `p99 ${formatMs(p99.estimate)} (95% lower bound ${formatMs(p99.lower)}) above the baseline's ${formatMs(bounds.p99UpperMs)}`
  return undefined
}

/**
 * The first second from `fromS` on that is beyond the bounds, and why. Its time is the later of the
 * second's start and `fromS` (a fault in place at 8.3 s degrades second 8 from 8.3 s, not before it).
 */
export function firstDegraded(
  windows: readonly WindowReport[],
  fromS: number,
  bounds: BaselineBounds,
): { atS: number; second: number; why: string } | undefined {
  for (const w of windows) {
    if (w.index + 1 <= fromS) continue
    const why = beyondBounds(w, bounds)
    if (why) return { atS: Math.max(w.index, fromS), second: w.index, why }
  }
  return undefined
}

/**
 * Recovery: the first second at or after `fromS` that starts `recoverySustainS` consecutive seconds,
 * each with answered requests and none beyond the baseline's bounds. undefined: not by the run's end.
 */
export function recoveredAt(
  windows: readonly WindowReport[],
  fromS: number,
  bounds: BaselineBounds,
): number | undefined {
  const candidates = windows.filter((w) => w.index >= fromS)
  // Each second is judged once (a histogram decode each), however many runs of seconds it is part of.
  const judged = new Map<number, boolean>()
  const inside = (w: WindowReport): boolean => {
    let verdict = judged.get(w.index)
    if (verdict === undefined) {
      verdict = w.ok + totalErrors(w.errors) > 0 && beyondBounds(w, bounds) === undefined
      judged.set(w.index, verdict)
    }
    return verdict
  }
  for (let i = 0; i + recoverySustainS <= candidates.length; i++) {
    const run = candidates.slice(i, i + recoverySustainS)
    const consecutive = run.every((w, k) => w.index === run[0]!.index + k)
    if (consecutive && run.every(inside)) return run[0]!.index
  }
  return undefined
}

const pct = (fraction: number): string => `${Math.round(fraction * 1000) / 10}%`
