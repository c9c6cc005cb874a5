import { createLatencyHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { judgeMeasurement } from '../../apps/controller/src/decision/evidence.js'
import { exact, quantile, rate } from '../../apps/controller/src/decision/measure.js'
import { quantileRanks, wilson } from '../../apps/controller/src/decision/intervals.js'
import { parseThreshold, type Threshold } from '../../apps/controller/src/scenario/thresholds.js'

const threshold = (source: string): Threshold => {
  const parsed = parseThreshold(source)
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.threshold
}

/** P(B <= k) for B ~ Binomial(n, p), summed directly (small n only): the reference for the ranks. */
function binomialCdf(k: number, n: number, p: number): number {
  let total = 0
  let coefficient = 1
  for (let i = 0; i <= Math.min(k, n); i++) {
    if (i > 0) coefficient = (coefficient * (n - i + 1)) / i
    total += coefficient * p ** i * (1 - p) ** (n - i)
  }
  return total
}

describe('Wilson score interval (95%)', () => {
  // Reference values: the closed forms at 0 and n (z²/(n+z²)), the symmetric 50%, and the common 1/10 example.
  it.each<[number, number, number, number]>([
    [0, 100, 0, 0.03699],
    [5, 100, 0.02154, 0.11175],
    [50, 100, 0.40383, 0.59617],
    [1, 10, 0.01787, 0.40415],
    [100, 100, 0.96301, 1],
  ])('%i of %i -> [%f, %f]', (successes, n, lower, upper) => {
    const interval = wilson(successes, n)!
    expect(interval.lower).toBeCloseTo(lower, 4)
    expect(interval.upper).toBeCloseTo(upper, 4)
  })

  it('has no interval without samples', () => {
    expect(wilson(0, 0)).toBeUndefined()
  })

  it('narrows as samples grow, always containing the estimate', () => {
    let width = Infinity
    for (const n of [10, 100, 1000, 10_000, 100_000]) {
      const interval = wilson(n / 10, n)!
      expect(interval.lower).toBeLessThanOrEqual(0.1)
      expect(interval.upper).toBeGreaterThanOrEqual(0.1)
      expect(interval.upper - interval.lower).toBeLessThan(width)
      width = interval.upper - interval.lower
    }
  })
})

describe('order-statistic interval for quantiles (95%)', () => {
  // Textbook ranks for the median (Conover, Practical Nonparametric Statistics, table A3).
  it.each<[number, number, number | null, number | null]>([
    [10, 0.5, 2, 9],
    [20, 0.5, 6, 15],
    [100, 0.5, 40, 61],
    [5, 0.5, null, null],
    [100, 0.99, 97, null],
  ])('n=%i q=%f -> ranks %s..%s', (n, q, lower, upper) => {
    expect(quantileRanks(n, q)).toEqual({ lower, upper })
  })

  it('covers the true quantile with at least 95%, and no tighter pair of ranks would (exact, n up to 400)', () => {
    for (const n of [7, 13, 50, 99, 150, 400]) {
      for (const q of [0.5, 0.9, 0.95, 0.99]) {
        const { lower, upper } = quantileRanks(n, q)
        const below = (rank: number | null): number => (rank === null ? 0 : binomialCdf(rank - 1, n, q))
        // P(x_(l) <= quantile <= x_(u)) = P(l <= B + ... ) = P(B <= u - 1) - P(B <= l - 1),
        // open sides counting as 1 and 0.
        const coverage = (upper === null ? 1 : below(upper)) - (lower === null ? 0 : below(lower))
        expect(coverage, `n=${n} q=${q}`).toBeGreaterThanOrEqual(0.95 - 1e-9)
        if (lower !== null)
          expect(below(lower + 1), `lower rank of n=${n} q=${q} is the largest`).toBeGreaterThan(0.025)
        if (upper !== null && upper > 1)
          expect(below(upper - 1), `upper rank of n=${n} q=${q} is the smallest`).toBeLessThan(0.975)
      }
    }
  })

  it('uses the normal approximation above 200k samples, close to the exact ranks', () => {
    const approx = quantileRanks(300_000, 0.99)
    expect(approx.lower).toBeGreaterThan(296_800)
    expect(approx.upper).toBeLessThan(297_200)
    // The ranks sit z = 1.959964 standard deviations either side of n*q (the normal quantile of 97.5%).
    const { lower, upper } = quantileRanks(300_000, 0.5)
    const sd = Math.sqrt(300_000 * 0.25)
    expect(lower).toBe(Math.floor(150_000 - 1.959964 * sd))
    expect(upper).toBe(Math.ceil(150_000 + 1.959964 * sd) + 1)
  })
})

describe('evidence for thresholds', () => {
  it.each<[string, number | null, number | null, string]>([
    ['p99 < 800ms', 700, 790, 'pass'],
    ['p99 < 800ms', 810, 900, 'fail'],
    ['p99 < 800ms', 700, 900, 'insufficient'],
    ['p99 < 800ms', 0, null, 'insufficient'],
    ['rps > 100', 101, 120, 'pass'],
    ['rps > 100', 80, 99, 'fail'],
    ['rps >= 100', null, 100, 'insufficient'],
  ])('%s with bounds [%s, %s] -> %s', (source, lower, upper, expected) => {
    const measured = { n: 1000, estimate: null, lower, upper }
    expect(judgeMeasurement(threshold(source), measured).confidence).toBe(expected)
  })

  it(`p99 can never be shown below a limit with fewer than 368 samples (0.99^n must fall under 2.5%), \
however fast they all were`, () => {
    const limit = threshold('p99 < 1000ms')
    const histogram = createLatencyHistogram()
    for (let n = 1; n <= 368; n++) {
      recordLatencyUs(histogram, 1000) // 1 ms, far below the limit
      const evidence = judgeMeasurement(limit, quantile(histogram, 0.99))
      expect(evidence.confidence, `n=${n}`).toBe(n < 368 ? 'insufficient' : 'pass')
    }
  })

  it('an error rate is shown to break its limit only when even the lower bound does', () => {
    const limit = threshold('error_rate < 15%')
    expect(judgeMeasurement(limit, rate(3, 10)).confidence).toBe('insufficient') // 30% of 10: [10.8%, 60.3%]
    expect(judgeMeasurement(limit, rate(30, 100)).confidence).toBe('fail') // [22%, 39%]
    expect(judgeMeasurement(limit, rate(5, 200)).confidence).toBe('pass') // [1%, 5.7%]
    expect(judgeMeasurement(limit, rate(0, 0))).toMatchObject({
      n: 0,
      estimate: null,
      lower: null,
      upper: null,
      confidence: 'insufficient',
    })
  })

  it('exact measurements are their own bounds; nothing measured is insufficient', () => {
    expect(judgeMeasurement(threshold('rps >= 100'), exact(100, 5)).confidence).toBe('pass')
    expect(judgeMeasurement(threshold('max < 1s'), exact(null, 0)).confidence).toBe('insufficient')
  })
})
