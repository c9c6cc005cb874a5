import {
  isRateMetric,
  latencyMetrics,
  rateMetrics,
  type ChangeCondition,
  type GrowthCondition,
  type Threshold,
  type ThresholdMetric,
  type ThresholdOperator,
} from '../decision/condition.js'

export {
  classRateMetrics,
  compare,
  isRateMetric,
  latencyMetrics,
  rateMetrics,
  type ChangeCondition,
  type GrowthCondition,
  type LatencyMetric,
  type RateMetric,
  type Threshold,
  type ThresholdMetric,
  type ThresholdOperator,
} from '../decision/condition.js'

/**
 * Threshold grammar (documented in README, "Thresholds"):
 *
 *   threshold := metric [ "{request=" name "}" ] operator number [unit]
 *                the selector measures one request of a `requests:` mix; without it, the whole mix
 *   metric    := p50 | p90 | p95 | p99 | p999 | max      latency, unit ms or s (required)
 *              | error_rate | success_rate               unit % (or a bare fraction 0..1)
 *              | timeout_rate | refused_rate | reset_rate | tls_rate | check_rate
 *              | http_3xx_rate | http_4xx_rate | http_5xx_rate
 *                                                        one class of failure, same units (a 3xx, 4xx or
 *                                                        5xx not in target.expect.status is an error;
 *                                                        check: an expected status that failed a body or
 *                                                        header check)
 *              | rps                                     achieved requests per second, unit rps optional
 *   operator  := < | <= | > | >=
 *
 * A baseline guard's condition compares a window with a baseline instead of a fixed limit:
 *
 *   change    := metric (drop | rise) (< | <=) number unit
 *                success_rate, rps drop; error_rate, latency rise
 *                unit pp (rates: percentage points) | % (relative to the baseline) | ms, s (latency) | rps
 *
 * A leak guard's condition bounds how much a target series (targetMetrics) may grow and stay grown:
 *
 *   growth    := series growth (< | <=) number %        e.g. "process_resident_memory_bytes growth < 20%"
 *
 * Parsed when the scenario loads, so a typo fails `gauntlet validate`, not the end of a long run.
 */

type ParseResult = { ok: true; threshold: Threshold } | { ok: false; message: string }

const grammar =
  /^\s*([a-z_0-9]+)(?:\{\s*request\s*=\s*([a-zA-Z0-9][a-zA-Z0-9._-]{0,63})\s*\})?\s*(<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-z%]*)\s*$/i

export function parseThreshold(source: string): ParseResult {
  const match = grammar.exec(source)
  if (!match)
    return {
      ok: false,
      message:
        `cannot parse threshold "${source}": expected "<metric>[{request=<name>}] <operator> <value>[unit]", ` +
        'e.g. "p99 < 800ms" or "error_rate{request=create-order} < 0.5%"',
    }
  const [, rawMetric = '', request, operator = '<', rawValue = '0', rawUnit = ''] = match
  const metric = rawMetric.toLowerCase()
  const unit = rawUnit.toLowerCase()
  const value = Number(rawValue)
  const fail = (message: string): ParseResult => ({ ok: false, message: `threshold "${source}": ${message}` })
  const done = (limit: number): ParseResult => ({
    ok: true,
    threshold: {
      source,
      metric: metric as ThresholdMetric,
      ...(request !== undefined ? { request } : {}),
      operator: operator as ThresholdOperator,
      limit,
    },
  })

  if ((latencyMetrics as readonly string[]).includes(metric)) {
    if (unit === 'ms') return value < 0 ? fail('a latency cannot be negative') : done(value)
    if (unit === 's') return value < 0 ? fail('a latency cannot be negative') : done(value * 1000)
    return fail(unit ? `unit "${unit}" is not a time unit; use ms or s` : 'a latency needs a unit (ms or s)')
  }
  if (isRateMetric(metric)) {
    if (unit === '%')
      return value < 0 || value > 100 ? fail('a percentage must be between 0 and 100') : done(value / 100)
    if (unit === '')
      return value < 0 || value > 1
        ? fail(`a bare ${metric.replace('_', ' ')} is a fraction between 0 and 1; write 0.5% for a percentage`)
        : done(value)
    return fail(`unit "${unit}" does not apply to ${metric}; use % or a fraction`)
  }
  if (metric === 'rps') {
    if (unit === '' || unit === 'rps') return value < 0 ? fail('a rate cannot be negative') : done(value)
    return fail(`unit "${unit}" does not apply to rps`)
  }
  return fail(`unknown metric "${rawMetric}"; known: ${[...latencyMetrics, ...rateMetrics, 'rps'].join(', ')}`)
}

type ChangeParseResult = { ok: true; condition: ChangeCondition } | { ok: false; message: string }

const changeGrammar = /^\s*([a-z_0-9]+)\s+(drop|rise)\s*(<=|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([a-z%]*)\s*$/i
const healthyDirection: Record<ThresholdMetric, 'drop' | 'rise'> = {
  p50: 'rise',
  p90: 'rise',
  p95: 'rise',
  p99: 'rise',
  p999: 'rise',
  max: 'rise',
  error_rate: 'rise',
  timeout_rate: 'rise',
  refused_rate: 'rise',
  reset_rate: 'rise',
  tls_rate: 'rise',
  check_rate: 'rise',
  http_3xx_rate: 'rise',
  http_4xx_rate: 'rise',
  http_5xx_rate: 'rise',
  success_rate: 'drop',
  rps: 'drop',
}

export function parseChange(source: string): ChangeParseResult {
  const match = changeGrammar.exec(source)
  if (!match)
    return {
      ok: false,
      message:
        `cannot parse baseline condition "${source}": expected "<metric> drop|rise < <value><unit>", e.g. ` +
        `"success_rate drop < 2pp" or "p99 rise < 20%"`,
    }
  const [, rawMetric = '', direction = 'drop', operator = '<', rawValue = '0', rawUnit = ''] = match
  const metric = rawMetric.toLowerCase() as ThresholdMetric
  const unit = rawUnit.toLowerCase()
  const value = Number(rawValue)
  const fail = (message: string): ChangeParseResult => ({
    ok: false,
    message: `baseline condition "${source}": ${message}`,
  })
  if (!(metric in healthyDirection))
    return fail(`unknown metric "${rawMetric}"; known: ${Object.keys(healthyDirection).join(', ')}`)
  if (direction.toLowerCase() !== healthyDirection[metric])
    return fail(
      `${metric} gets worse as it ${healthyDirection[metric]}s; write "${metric} ${healthyDirection[metric]} < ..."`,
    )
  if (value < 0) return fail('a change limit cannot be negative')
  const done = (limit: number, relative: boolean): ChangeParseResult => ({
    ok: true,
    condition: {
      source,
      metric,
      direction: healthyDirection[metric],
      operator: operator as '<' | '<=',
      limit,
      relative,
    },
  })
  if (unit === '%') return done(value / 100, true)
  if (isRateMetric(metric)) {
    if (unit === 'pp') return value > 100 ? fail('at most 100pp') : done(value / 100, false)
    return fail(`a rate changes in percentage points (pp) or relative percent (%), not "${unit || 'no unit'}"`)
  }
  if (metric === 'rps')
    return unit === '' || unit === 'rps'
      ? done(value, false)
      : fail(`unit "${unit}" does not apply to rps; use rps or %`)
  if (unit === 'ms') return done(value, false)
  if (unit === 's') return done(value * 1000, false)
  return fail(
    unit === 'pp'
      ? 'pp (percentage points) applies to rates; a latency changes in ms, s or %'
      : `a latency changes in ms, s or %, not "${unit || 'no unit'}"`,
  )
}

type GrowthParseResult = { ok: true; condition: GrowthCondition } | { ok: false; message: string }

export function parseGrowth(source: string): GrowthParseResult {
  const match = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s+growth\s*(<=|<)\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*$/.exec(source)
  if (!match)
    return {
      ok: false,
      message:
        `cannot parse leak condition "${source}": expected "<series> growth < <percent>%", e.g. ` +
        `"process_resident_memory_bytes growth < 20%"`,
    }
  const [, series = '', operator = '<', value = '0', unit = ''] = match
  if (unit !== '%')
    return {
      ok: false,
      message: `leak condition "${source}": growth is relative to the pre-load level; give it in % (e.g. 20%)`,
    }
  return { ok: true, condition: { source, series, operator: operator as '<' | '<=', limit: Number(value) / 100 } }
}
