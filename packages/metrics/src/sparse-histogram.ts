import {
  createLatencyHistogram,
  latencySummary,
  summarizeLatency,
  type Histogram,
  type LatencySummaryMs,
} from './histogram.js'

/**
 * A latency histogram read from hdr-histogram-js's V2 encoding as its non-zero buckets only.
 *
 * Decoding an agent's window with the library allocates the counts array of its whole range (23,552
 * 64-bit counts, 188 KB, for createLatencyHistogram's 1 µs..1 h), and each percentile and each merge then
 * walks it: ~0.4 ms per window on the controller's event loop, for a window of a few hundred values. This
 * reads the same encoding into its few hundred non-zero buckets. For a histogram of the canonical shape
 * (createLatencyHistogram's: lowest 1, highest 3,600,000,000, 3 digits) its count, percentiles and what it
 * adds to a canonical histogram are those of the library's decode, bit for bit
 * (test/unit/sparse-histogram.test.ts checks them against the library); any other shape is left to the
 * library (fromV2Payload returns undefined).
 */
export class SparseHistogram {
  private constructor(
    /** Values recorded, as the library's decode counts them. */
    readonly totalCount: number,
    /** Counts-array index of each non-zero bucket, ascending. */
    private readonly indices: Uint32Array,
    private readonly counts: Float64Array,
    /** The library's internal maxValue and minNonZeroValue after decoding, which add() carries over. */
    private readonly maxValue: number,
    private readonly minNonZeroValue: number,
  ) {}

  /**
   * From the uncompressed V2 encoding (the inflated payload of an encoded histogram). Undefined when the
   * histogram is not of the canonical shape; throws (see scanV2Counts) when the encoding is malformed.
   */
  static fromV2Payload(payload: Uint8Array): SparseHistogram | undefined {
    const header = readV2Header(payload)
    if (header.digits !== 3 || header.lowest !== 1 || header.highest !== canonicalHighest) return undefined
    const shape = canonical()
    const { indices, counts, used } = scanV2Counts(payload, shape.countsArrayLength)
    // As the library's decode (establishInternalTackingValues): the sum, the highest non-zero bucket's top
    // value, and the lowest non-zero bucket above bucket 0.
    let total = 0
    for (let k = 0; k < used; k++) total += counts[k]!
    const maxValue = used > 0 ? shape.highestEquivalentValue(shape.valueFromIndex(indices[used - 1]!)) : 0
    const firstAboveZero = used > 0 && indices[0] === 0 ? 1 : 0
    const minNonZeroValue = firstAboveZero < used ? shape.valueFromIndex(indices[firstAboveZero]!) : Number.MAX_VALUE
    return new SparseHistogram(total, indices.slice(0, used), counts.slice(0, used), maxValue, minNonZeroValue)
  }

  /** Its fields, as plain data that crosses threads (postMessage); fromParts makes it again. */
  toParts(): SparseParts {
    return {
      totalCount: this.totalCount,
      indices: this.indices,
      counts: this.counts,
      maxValue: this.maxValue,
      minNonZeroValue: this.minNonZeroValue,
    }
  }

  static fromParts(parts: SparseParts): SparseHistogram {
    return new SparseHistogram(parts.totalCount, parts.indices, parts.counts, parts.maxValue, parts.minNonZeroValue)
  }

  /** As the library's getValueAtPercentile on the decoded histogram. */
  valueAtPercentile(percentile: number): number {
    const requested = Math.min(percentile, 100)
    const fpCount = (requested / 100.0) * this.totalCount
    const countAtPercentile = Math.max(Math.ceil(fpCount - ulp(fpCount)), 1)
    const shape = canonical()
    let running = 0
    for (let k = 0; k < this.indices.length; k++) {
      running += this.counts[k]!
      if (running >= countAtPercentile) {
        const value = shape.valueFromIndex(this.indices[k]!)
        return percentile === 0.0 ? shape.lowestEquivalentValue(value) : shape.highestEquivalentValue(value)
      }
    }
    return 0
  }

  /** summarizeLatency of the decoded histogram. */
  summarize(): LatencySummaryMs {
    return latencySummary(this.totalCount, (p) => this.valueAtPercentile(p))
  }

  /**
   * Adds its counts to `target`, a histogram of the canonical shape (createLatencyHistogram), as
   * target.add(decoded) does: the same counts, total, and the internal max and min that its encoding reads.
   */
  addTo(target: Histogram): void {
    const t = target as unknown as JsHistogramInternals
    const shape = canonical()
    if (
      t.bucketCount !== shape.bucketCount ||
      t.subBucketCount !== shape.subBucketCount ||
      t.unitMagnitude !== shape.unitMagnitude ||
      typeof t.addToCountAtIndex !== 'function'
    ) {
      throw new Error('a sparse histogram adds only to a histogram of the canonical latency shape')
    }
    let observed = 0
    for (let k = 0; k < this.indices.length; k++) {
      t.addToCountAtIndex(this.indices[k]!, this.counts[k]!)
      observed += this.counts[k]!
    }
    t.setTotalCount(t.totalCount + observed)
    t.updatedMaxValue(Math.max(t.maxValue, this.maxValue))
    t.updateMinNonZeroValue(Math.min(t.minNonZeroValue, this.minNonZeroValue))
  }
}

/** A SparseHistogram as plain data. */
export interface SparseParts {
  totalCount: number
  indices: Uint32Array
  counts: Float64Array
  maxValue: number
  minNonZeroValue: number
}

/** The fields of an uncompressed V2 header that say a histogram's shape. */
export interface V2Header {
  digits: number
  lowest: number
  highest: number
}

/** Header of the uncompressed V2 encoding: cookie, payload length, offset, digits, lowest, highest, ratio. */
export const v2HeaderBytes = 40
const v2EncodingCookieBase = 0x1c849303

/** The shape fields of an uncompressed V2 encoding; throws when it is not one. */
export function readV2Header(payload: Uint8Array): V2Header {
  if (payload.length < v2HeaderBytes) throw new Error('truncated header')
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  if ((view.getUint32(0) & ~0xf0) !== v2EncodingCookieBase) throw new Error('not a V2 histogram encoding')
  const int64 = (at: number): number => view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4)
  return { digits: view.getUint32(12), lowest: int64(16), highest: int64(24) }
}

/**
 * The non-zero counts of an uncompressed V2 encoding, reading its ZigZag LEB128 words as the library
 * does (a negative word is a run of zero buckets). Throws where the library's decode would (a count
 * beyond 2^53), and also where it would read past its data or walk past the histogram's range: no
 * encoder writes those, and the library would loop over every index they claim (a few bytes can claim
 * billions), holding the thread.
 * `countsLength` is the counts-array length of the histogram's shape; `used` entries are filled.
 */
export function scanV2Counts(
  payload: Uint8Array,
  countsLength: number,
): { indices: Uint32Array; counts: Float64Array; used: number } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length)
  const payloadLength = view.getUint32(4)
  const end = v2HeaderBytes + payloadLength
  if (end > payload.length) throw new Error('its counts are longer than its data')
  // At most one entry per encoded byte, and per bucket.
  const capacity = Math.min(payloadLength, countsLength)
  const indices = new Uint32Array(capacity)
  const counts = new Float64Array(capacity)
  let used = 0
  let position = v2HeaderBytes
  let index = 0
  const next = (): number => {
    if (position >= payload.length) throw new Error('its counts are longer than its data')
    return payload[position++]!
  }
  while (position < end) {
    const word = readZigZag(next)
    if (word < 0) {
      index += -word
      if (index > countsLength) throw new Error('its counts reach past its range')
      continue
    }
    // The library's setCountAtIndex refuses these.
    if (word > Number.MAX_SAFE_INTEGER) throw new Error(`a count of ${word} would overflow`)
    if (index >= countsLength) throw new Error('its counts reach past its range')
    if (word > 0) {
      indices[used] = index
      counts[used] = word
      used++
    }
    index++
  }
  return { indices, counts, used }
}

/** hdr-histogram-js ZigZagEncoding.decode, the same arithmetic (LEB128-64b9B, ZigZag). */
function readZigZag(next: () => number): number {
  let v = next()
  let value = v & 0x7f
  let scale = 1
  for (let byte = 1; byte < 9 && (v & 0x80) !== 0; byte++) {
    v = next()
    scale *= 128
    value += (v & 0x7f) * scale
  }
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2
}

/** hdr-histogram-js's ulp: the distance to the next double. */
const ulp = (x: number): number => Math.pow(2, Math.floor(Math.log2(x)) - 52)

const canonicalHighest = 3_600_000_000

/** What JsHistogram has beyond its typings: its value math and what add() updates. */
interface JsHistogramInternals {
  countsArrayLength: number
  bucketCount: number
  subBucketCount: number
  unitMagnitude: number
  maxValue: number
  minNonZeroValue: number
  totalCount: number
  valueFromIndex(index: number): number
  lowestEquivalentValue(value: number): number
  highestEquivalentValue(value: number): number
  addToCountAtIndex(index: number, value: number): void
  setTotalCount(value: number): void
  updatedMaxValue(value: number): void
  updateMinNonZeroValue(value: number): void
}

let shapeOfCanonical: JsHistogramInternals | undefined
/** A histogram of the canonical shape, for its value math (made on first use: its counts array is 188 KB). */
function canonical(): JsHistogramInternals {
  shapeOfCanonical ??= createLatencyHistogram() as unknown as JsHistogramInternals
  return shapeOfCanonical
}

/** A decoded latency histogram as a reader of agents' windows needs it, sparse or the library's. */
export type LatencyCounts = Pick<SparseHistogram, 'totalCount' | 'summarize' | 'addTo'>

/** The library's decoded histogram as LatencyCounts. */
export function latencyCounts(histogram: Histogram): LatencyCounts {
  return {
    totalCount: histogram.totalCount,
    summarize: () => summarizeLatency(histogram),
    addTo: (target) => target.add(histogram),
  }
}
