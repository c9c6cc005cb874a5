import * as hdr from 'hdr-histogram-js'

export type Histogram = hdr.Histogram

/** Highest latency we can record: one hour in microseconds. Longer values are clamped to it. */
const highestTrackableUs = 3_600_000_000

/** Latency histograms record microseconds with 3 significant digits (0.1% value resolution). */
export function createLatencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: highestTrackableUs,
    numberOfSignificantValueDigits: 3,
    // 64-bit counts: a merged step at 1M rps for hours must not overflow a bucket.
    bitBucketSize: 64,
    autoResize: false,
  })
}

export function recordLatencyUs(histogram: Histogram, us: number): void {
  histogram.recordValue(Math.min(Math.max(1, Math.round(us)), highestTrackableUs))
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram)
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 64, false)
  // Decoded histograms size themselves to their content; copy into the canonical shape so merges never overflow.
  const histogram = createLatencyHistogram()
  histogram.add(decoded)
  return histogram
}

/**
 * Decodes a histogram as it was encoded, sized to its content, without decodeHistogram's copy into the
 * full-range shape (a 188 KB counts array): for reading it or adding it to a full-range one. For a histogram
 * of the canonical precision (lowest 1 µs, 3 digits, as createLatencyHistogram's), its counts, quantiles and
 * what it adds to another equal those of decodeHistogram's copy.
 */
export function decodeCompact(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false)
}

/** Merge encoded histograms into one. Percentiles are computed after merging, never averaged. */
export function mergeEncoded(encoded: Iterable<string>): Histogram {
  const merged = createLatencyHistogram()
  for (const item of encoded) merged.add(decodeHistogram(item))
  return merged
}

export interface LatencySummaryMs {
  count: number
  p50Ms: number | null
  p90Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
  maxMs: number | null
}

const usToMs = (us: number): number => Math.round(us) / 1000

export function summarizeLatency(histogram: Histogram): LatencySummaryMs {
  return latencySummary(histogram.totalCount, (percentile) => histogram.getValueAtPercentile(percentile))
}

/** summarizeLatency for any histogram of `count` values whose percentiles `valueAt` gives (microseconds). */
export function latencySummary(count: number, valueAt: (percentile: number) => number): LatencySummaryMs {
  if (count === 0) {
    return { count, p50Ms: null, p90Ms: null, p95Ms: null, p99Ms: null, p999Ms: null, maxMs: null }
  }
  return {
    count,
    p50Ms: usToMs(valueAt(50)),
    p90Ms: usToMs(valueAt(90)),
    p95Ms: usToMs(valueAt(95)),
    p99Ms: usToMs(valueAt(99)),
    p999Ms: usToMs(valueAt(99.9)),
    // The top bucket's upper bound, like every other quantile, so a value reads the same before and after encoding.
    maxMs: usToMs(valueAt(100)),
  }
}
