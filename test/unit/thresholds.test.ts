import { describe, expect, it } from 'vitest'
import { parseThreshold } from '../../apps/controller/src/scenario/thresholds.js'

describe('threshold grammar', () => {
  it.each([
    ['p99 < 800ms', 'p99', '<', 800],
    ['p50<=20ms', 'p50', '<=', 20],
    ['p999 < 1.5s', 'p999', '<', 1500],
    ['max < 2s', 'max', '<', 2000],
    ['P95 < 250ms', 'p95', '<', 250],
    ['error_rate < 0.5%', 'error_rate', '<', 0.005],
    ['error_rate <= 0.01', 'error_rate', '<=', 0.01],
    ['rps >= 95', 'rps', '>=', 95],
    ['rps > 100rps', 'rps', '>', 100],
    ['http_3xx_rate < 1%', 'http_3xx_rate', '<', 0.01],
  ])('parses %j', (source, metric, operator, limit) => {
    const result = parseThreshold(source)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.threshold).toMatchObject({ metric, operator, limit })
  })

  it.each([
    ['p99 < 800', 'a latency needs a unit'],
    ['p99 < 800%', 'not a time unit'],
    ['p75 < 3ms', 'unknown metric "p75"'],
    ['error_rate < 5', 'fraction between 0 and 1'],
    ['error_rate < 150%', 'between 0 and 100'],
    ['error_rate < 5ms', 'does not apply to error_rate'],
    ['rps > 5ms', 'does not apply to rps'],
    ['p99 = 800ms', 'cannot parse'],
    ['p99 < -1ms', 'cannot be negative'],
    ['', 'cannot parse'],
  ])('rejects %j', (source, message) => {
    const result = parseThreshold(source)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.message).toContain(message)
  })
})
