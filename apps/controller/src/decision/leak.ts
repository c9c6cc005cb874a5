import type { TargetSeriesSummary } from '@gauntlet/contracts'

/** One scrape of a target series: `atS` seconds from run second 0 (negative before the load). */
export interface SeriesPoint {
  atS: number
  value: number
}

/**
 * A series around the load (the summary's fields): pre-load median, peak and when, end median, growths,
 * and when the growth that lasted to the end started. `missing` says why a leak cannot be judged.
 */
export interface SeriesShape extends Omit<TargetSeriesSummary, 'series' | 'scrapes'> {
  missing?: string
}

export interface LeakJudgement extends SeriesShape {
  verdict: 'pass' | 'fail' | 'insufficient'
  reason: string
}

/** The shape of a series scraped before, during and after the load, which ended at `loadEndS`. */
export function seriesShape(points: readonly SeriesPoint[], loadEndS: number): SeriesShape {
  const before = points.filter((p) => p.atS < 0).map((p) => p.value)
  const after = points.filter((p) => p.atS >= loadEndS)
  const none = {
    preLoad: null,
    peak: null,
    peakAtS: null,
    end: null,
    peakGrowth: null,
    endGrowth: null,
    growingSinceS: null,
  }
  if (before.length === 0) return { ...none, missing: 'no scrape before the load: no pre-load level to compare with' }
  if (after.length === 0)
    return { ...none, preLoad: median(before), missing: 'no scrape after the load: cannot tell whether it came back' }
  const preLoad = median(before)
  const end = median(after.slice(-3).map((p) => p.value))
  let peak = points[0]!
  for (const p of points) if (p.value > peak.value) peak = p
  const growth = (value: number): number =>
    preLoad > 0 ? (value - preLoad) / preLoad : value > 0 ? Number.POSITIVE_INFINITY : 0
  let since = points.length
  while (since > 0 && points[since - 1]!.value > preLoad * 1.01) since--
  const growingSinceS = since < points.length ? points[since]!.atS : null
  return {
    preLoad,
    peak: peak.value,
    peakAtS: peak.atS,
    end,
    peakGrowth: growth(peak.value),
    endGrowth: growth(end),
    growingSinceS,
  }
}

/**
 * A leak is growth that does not go away: FAIL when the series rose more than `limit` (a fraction of
 * its pre-load level) and was still more than `limit` above it at the end of the cooldown after the
 * load. Growth that comes back (a cache warming under load, a heap the GC returns) passes. No pre-load
 * scrape, or none after the load, is INSUFFICIENT: a leak cannot be ruled out without both ends.
 * One shape per series, however many guards watch it.
 */
export function judgeShape(shape: SeriesShape, limit: number, operator: '<' | '<=' = '<='): LeakJudgement {
  if (shape.missing !== undefined || shape.peakGrowth === null || shape.endGrowth === null)
    return { ...shape, verdict: 'insufficient', reason: shape.missing ?? 'no growth measured' }
  const { peakGrowth, endGrowth, peakAtS, growingSinceS } = shape
  const percent = (g: number): string => `${Math.round(g * 1000) / 10}%`
  // Healthy is growth < limit (or <=): a leak is growth past it that stays past it.
  const beyond = (g: number): boolean => (operator === '<' ? g >= limit : g > limit)
  if (beyond(peakGrowth) && beyond(endGrowth)) {
    return {
      ...shape,
      verdict: 'fail',
      reason:
        `grew ${percent(peakGrowth)} (peak at second ${peakAtS}) and was still +${percent(endGrowth)} after the ` +
        `load${growingSinceS === null ? '' : `; growing since second ${growingSinceS}`}`,
    }
  }
  const reason = beyond(peakGrowth)
    ? `grew ${percent(peakGrowth)} under load and came back to +${percent(endGrowth)}`
    : `grew at most ${percent(peakGrowth)}`
  return { ...shape, verdict: 'pass', reason }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
