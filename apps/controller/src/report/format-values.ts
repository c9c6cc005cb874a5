import { isRateMetric } from '../scenario/thresholds.js'

/** Human renderings of metric values, shared by reasons and the CLI report. */
export function formatObserved(metric: string, value: number | null): string {
  if (value === null) return 'no data'
  if (isRateMetric(metric)) return formatPercent(value)
  if (metric === 'rps') return `${round(value, 1)} rps`
  return formatMs(value)
}

export function formatMs(value: number | null): string {
  if (value === null) return '-'
  return value >= 100 ? `${round(value, 0)}ms` : `${round(value, 1)}ms`
}

export function formatPercent(fraction: number): string {
  return `${round(fraction * 100, 2)}%`
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
