/**
 * Confidence intervals for what pooled windows measured (pure math, no I/O):
 * - rates (error rate, success rate): the Wilson score interval;
 * - latency quantiles: the distribution-free interval between two order statistics, with the ranks
 *   taken from the binomial distribution of "samples below the true quantile".
 * Both are 95% two-sided by default. An interval that the data cannot bound says so (null), so
 * few samples give INSUFFICIENT evidence, never a PASS.
 */

export interface Interval {
  lower: number
  upper: number
}

/** z for a two-sided 95% interval. */
const z95 = 1.959963984540054

/** Wilson score interval for `successes` of `n` (undefined when n is 0: no evidence at all). */
export function wilson(successes: number, n: number, z = z95): Interval | undefined {
  if (n <= 0) return undefined
  const p = successes / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  // At 0 or n the bound is exact; computing it would leave float dust (3e-18) instead of 0.
  return {
    lower: successes === 0 ? 0 : Math.max(0, centre - half),
    upper: successes === n ? 1 : Math.min(1, centre + half),
  }
}

/** Largest n for which binomial probabilities are summed exactly; above it the normal approximation is used. */
const exactLimit = 200_000

/**
 * 1-based ranks of the order statistics that bracket the q-quantile with `confidence`: the true
 * quantile lies in [x_(lower), x_(upper)] with at least that probability. null where the sample is too
 * small to bound that side (lower: below the smallest value; upper: beyond the largest).
 */
export function quantileRanks(n: number, q: number, confidence = 0.95): { lower: number | null; upper: number | null } {
  if (n <= 0) return { lower: null, upper: null }
  const tail = (1 - confidence) / 2
  // B ~ Binomial(n, q) counts samples below the true quantile; x_(k) <= quantile iff B >= k.
  // lower = the largest k with P(B <= k-1) <= tail; upper = the smallest k with P(B <= k-1) >= 1 - tail.
  let lower: number | null = null
  let upper: number | null = null
  if (n <= exactLimit) {
    let cdf = 0
    let logPmf = n * Math.log1p(-q) // P(B = 0)
    for (let k = 0; k <= n; k++) {
      // cdf = P(B <= k); the rank k+1 has P(B <= (k+1)-1) = cdf
      cdf += Math.exp(logPmf)
      const rank = k + 1
      if (rank <= n && cdf <= tail) lower = rank
      if (rank <= n && upper === null && cdf >= 1 - tail) upper = rank
      if (upper !== null && cdf > tail) break
      logPmf += Math.log((n - k) / (k + 1)) + Math.log(q) - Math.log1p(-q)
    }
  } else {
    const mean = n * q
    const sd = Math.sqrt(n * q * (1 - q))
    const zq = normalQuantile(1 - tail)
    const lo = Math.floor(mean - zq * sd)
    const hi = Math.ceil(mean + zq * sd) + 1
    lower = lo >= 1 ? Math.min(lo, n) : null
    upper = hi <= n ? Math.max(hi, 1) : null
  }
  return { lower, upper }
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const low = 0.02425
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    )
  }
  if (p > 1 - low) return -normalQuantile(1 - p)
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  )
}
