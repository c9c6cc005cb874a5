import { describe, expect, it } from 'vitest'
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeEncoded,
  recordLatencyUs,
  summarizeLatency,
} from '../../packages/metrics/src/index.js'

const histogramOf = (valuesUs: number[]) => {
  const h = createLatencyHistogram()
  for (const v of valuesUs) recordLatencyUs(h, v)
  return h
}

describe('latency histograms', () => {
  it('round-trips through the compressed encoding', () => {
    const h = histogramOf([1, 500, 20_000, 1_000_000, 3_000_000_000])
    const decoded = decodeHistogram(encodeHistogram(h))
    expect(decoded.totalCount).toBe(5)
    expect(summarizeLatency(decoded)).toEqual(summarizeLatency(h))
  })

  it('keeps 3 significant digits at microsecond resolution', () => {
    const h = histogramOf([20_123])
    expect(Math.abs(summarizeLatency(h).p50Ms! - 20.123)).toBeLessThan(0.02)
  })

  it('merges windows before computing quantiles instead of averaging them', () => {
    // A quiet window (100 x 10 ms) and a stalled one (100 x 1000 ms): p99 of the whole is 1000 ms,
    // while the average of the two per-window p99s would claim ~505 ms.
    const quiet = encodeHistogram(histogramOf(new Array<number>(100).fill(10_000)))
    const stalled = encodeHistogram(histogramOf(new Array<number>(100).fill(1_000_000)))
    const merged = summarizeLatency(mergeEncoded([quiet, stalled]))
    expect(merged.count).toBe(200)
    expect(merged.p99Ms).toBeGreaterThan(999)
    expect(merged.p50Ms).toBeLessThan(10.1)
  })

  it('clamps values beyond an hour instead of throwing', () => {
    const h = histogramOf([10 * 3_600_000_000])
    expect(summarizeLatency(h).maxMs).toBeGreaterThanOrEqual(3_600_000)
  })

  it('an empty histogram has no percentiles', () => {
    expect(summarizeLatency(decodeHistogram(encodeHistogram(createLatencyHistogram())))).toMatchObject({
      count: 0,
      p99Ms: null,
    })
  })
})
