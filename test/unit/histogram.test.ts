import * as hdr from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import {
  createLatencyHistogram,
  decodeCompact,
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

  // The metrics package loads the package's JavaScript histogram and encoding directly (not its index): the
  // strings must stay those of the package's own functions, which agents of other versions and tests use.
  it("builds, encodes and decodes as hdr-histogram-js's index functions do", () => {
    const values = [1, 77, 500, 20_000, 1_000_000, 3_000_000_000]
    const reference = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
      bitBucketSize: 64,
      autoResize: false,
    })
    for (const v of values) recordLatencyUs(reference, v)
    const ours = histogramOf(values)
    expect(ours.constructor).toBe(reference.constructor)
    expect(encodeHistogram(ours)).toBe(hdr.encodeIntoCompressedBase64(reference))
    const encoded = hdr.encodeIntoCompressedBase64(reference)
    const theirs = hdr.decodeFromCompressedBase64(encoded, 64, false)
    for (const decoded of [decodeCompact(encoded), decodeCompact(` ${encoded}\n`)]) {
      expect(decoded.constructor).toBe(theirs.constructor)
      expect(decoded.highestTrackableValue).toBe(theirs.highestTrackableValue)
      expect(summarizeLatency(decoded)).toEqual(summarizeLatency(theirs))
    }
    expect(summarizeLatency(decodeHistogram(encoded))).toEqual(summarizeLatency(reference))
  })

  it.each([
    ['a length that is not a multiple of 4', 'AAA', /not base64/],
    ['a character outside base64', 'AA*A', /not base64/],
    ['base64 that is no histogram', 'AAAA', /only V2/],
    ['nothing', '', /only V2/],
  ])('refuses %s', (_, text, message) => {
    expect(() => decodeCompact(text)).toThrow(message)
    expect(() => decodeHistogram(text)).toThrow(message)
  })
})
