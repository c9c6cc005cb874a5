/**
 * The conditions guards and thresholds hold a measurement against, in engine units (their text grammar
 * is parsed by the scenario loader, scenario/thresholds.ts).
 */
export const latencyMetrics = ['p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const
export type LatencyMetric = (typeof latencyMetrics)[number]
/** Error rates of one class: the share of requests with an outcome that failed that way. */
export const classRateMetrics = [
  'timeout_rate',
  'refused_rate',
  'reset_rate',
  'tls_rate',
  'check_rate',
  'http_3xx_rate',
  'http_4xx_rate',
  'http_5xx_rate',
] as const
export type RateMetric = 'error_rate' | 'success_rate' | (typeof classRateMetrics)[number]
export const rateMetrics: readonly RateMetric[] = ['error_rate', 'success_rate', ...classRateMetrics]
export const isRateMetric = (metric: string): metric is RateMetric =>
  (rateMetrics as readonly string[]).includes(metric)
export type ThresholdMetric = LatencyMetric | RateMetric | 'rps'
export type ThresholdOperator = '<' | '<=' | '>' | '>='

export interface Threshold {
  source: string
  metric: ThresholdMetric
  /** `metric{request=<name>}`: one request of the mix; absent, the whole mix. */
  request?: string
  operator: ThresholdOperator
  /** In ms for latency metrics, a fraction for error_rate, rps for rps. */
  limit: number
}

export function compare(observed: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case '<':
      return observed < limit
    case '<=':
      return observed <= limit
    case '>':
      return observed > limit
    case '>=':
      return observed >= limit
  }
}

/** A baseline guard's condition: how far an evaluation span may move from its baseline. */
export interface ChangeCondition {
  source: string
  metric: ThresholdMetric
  /** drop: baseline minus span (success_rate, rps); rise: span minus baseline (error_rate, latency). */
  direction: 'drop' | 'rise'
  operator: '<' | '<='
  /** Relative: a fraction of the baseline. Absolute: in the metric's unit (a fraction for rates, ms, rps). */
  limit: number
  relative: boolean
}

/** A leak guard's condition: the series, and how far above its pre-load level it may stay (a fraction). */
export interface GrowthCondition {
  source: string
  series: string
  operator: '<' | '<='
  limit: number
}
