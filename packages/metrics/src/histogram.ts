import type { Histogram as HdrHistogram } from 'hdr-histogram-js'
// The package's JavaScript histograms, not its index: the index also loads the WebAssembly build
// (a base64 blob and its loader), the log reader and writer, the Recorder and the encoding module (with pako,
// a JavaScript zlib): ~45 ms of CPU against ~10, in each thread that records or reads latency. The encoding
// is in v2-encoding.ts. hdr-histogram-js is pinned exactly in package.json for this path.
import type { JsHistogram } from 'hdr-histogram-js/dist/JsHistogram.js'
import { constructorFromBucketSize } from 'hdr-histogram-js/dist/JsHistogramFactory.js'
import { decodeV2Compressed, encodeV2Compressed } from './v2-encoding.js'

export type Histogram = HdrHistogram

/** The package's histogram with 64-bit counts (Float64Histogram), as hdr.build({ bitBucketSize: 64 }) takes it. */
const Float64Histogram = constructorFromBucketSize(64)

/** Highest latency we can record: one hour in microseconds. Longer values are clamped to it. */
const highestTrackableUs = 3_600_000_000

/** Latency histograms record microseconds with 3 significant digits (0.1% value resolution). */
export function createLatencyHistogram(): Histogram {
  // As hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue, numberOfSignificantValueDigits: 3,
  // bitBucketSize: 64, autoResize: false }) builds it: 64-bit counts, so a merged step at 1M rps for hours
  // cannot overflow a bucket.
  const histogram = new Float64Histogram(1, highestTrackableUs, 3)
  histogram.autoResize = false
  return histogram
}

export function recordLatencyUs(histogram: Histogram, us: number): void {
  histogram.recordValue(Math.min(Math.max(1, Math.round(us)), highestTrackableUs))
}

export function encodeHistogram(histogram: Histogram): string {
  // Every histogram here is a JsHistogram (none is built with WebAssembly): what hdr.encodeIntoCompressedBase64 takes.
  return encodeV2Compressed(histogram as JsHistogram)
}

/**
 * As hdr.decodeFromCompressedBase64(encoded, 64, false): the base64 text (as base64-js reads it: trimmed, a
 * multiple of 4 long; other characters are refused here rather than read as zero bits), the compressed
 * V2 payload, the counts.
 */
function decodeCompressedBase64(encoded: string): Histogram {
  const text = encoded.trim()
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw new Error('the histogram is not base64 text (a multiple of 4 characters of A-Z, a-z, 0-9, + and /)')
  return decodeV2Compressed(
    Buffer.from(text, 'base64'),
    (lowest, highest, digits) => new Float64Histogram(lowest, highest, digits),
  )
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = decodeCompressedBase64(encoded)
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
  return decodeCompressedBase64(encoded)
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
