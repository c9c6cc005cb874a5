/**
 * Threshold grammar (documented in README, "Thresholds"):
 *
 *   threshold := metric operator number [unit]
 *   metric    := p50 | p90 | p95 | p99 | p999 | max      latency, unit ms or s (required)
 *              | error_rate                              unit % (or a bare fraction 0..1)
 *              | rps                                     achieved requests per second, unit rps optional
 *   operator  := < | <= | > | >=
 *
 * Parsed when the scenario loads, so a typo fails `gauntlet validate`, not the end of a long run.
 */
export const latencyMetrics = ['p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const
export type LatencyMetric = (typeof latencyMetrics)[number]
export type ThresholdMetric = LatencyMetric | 'error_rate' | 'rps'
export type ThresholdOperator = '<' | '<=' | '>' | '>='

export interface Threshold {
  source: string
  metric: ThresholdMetric
  operator: ThresholdOperator
  /** In ms for latency metrics, a fraction for error_rate, rps for rps. */
  limit: number
}

export type ParseResult = { ok: true; threshold: Threshold } | { ok: false; message: string }

const grammar = /^\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-z%]*)\s*$/i

export function parseThreshold(source: string): ParseResult {
  const match = grammar.exec(source)
  if (!match) return { ok: false, message: `cannot parse threshold "${source}": expected "<metric> <operator> <value>[unit]", e.g. "p99 < 800ms"` }
  const [, rawMetric = '', operator = '<', rawValue = '0', rawUnit = ''] = match
  const metric = rawMetric.toLowerCase()
  const unit = rawUnit.toLowerCase()
  const value = Number(rawValue)
  const fail = (message: string): ParseResult => ({ ok: false, message: `threshold "${source}": ${message}` })
  const done = (limit: number): ParseResult => ({
    ok: true,
    threshold: { source, metric: metric as ThresholdMetric, operator: operator as ThresholdOperator, limit },
  })

  if ((latencyMetrics as readonly string[]).includes(metric)) {
    if (unit === 'ms') return value < 0 ? fail('a latency cannot be negative') : done(value)
    if (unit === 's') return value < 0 ? fail('a latency cannot be negative') : done(value * 1000)
    return fail(unit ? `unit "${unit}" is not a time unit; use ms or s` : 'a latency needs a unit (ms or s)')
  }
  if (metric === 'error_rate') {
    if (unit === '%') return value < 0 || value > 100 ? fail('a percentage must be between 0 and 100') : done(value / 100)
    if (unit === '') return value < 0 || value > 1 ? fail('a bare error rate is a fraction between 0 and 1; write 0.5% for a percentage') : done(value)
    return fail(`unit "${unit}" does not apply to error_rate; use % or a fraction`)
  }
  if (metric === 'rps') {
    if (unit === '' || unit === 'rps') return value < 0 ? fail('a rate cannot be negative') : done(value)
    return fail(`unit "${unit}" does not apply to rps`)
  }
  return fail(`unknown metric "${rawMetric}"; known: ${[...latencyMetrics, 'error_rate', 'rps'].join(', ')}`)
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
