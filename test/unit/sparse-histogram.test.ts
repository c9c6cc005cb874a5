import * as hdr from 'hdr-histogram-js'
import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  createLatencyHistogram,
  decodeCompact,
  encodeHistogram,
  recordLatencyUs,
  SparseHistogram,
  summarizeLatency,
  type Histogram,
} from '../../packages/metrics/src/index.js'

// The controller reads agents' windows with SparseHistogram instead of the library's decode. Whatever it
// reports and merges must be exactly what the library's decode gives: checked here against it.

/** The uncompressed V2 encoding inside an encoded histogram. */
const payloadOf = (encoded: string): Buffer => inflateSync(Buffer.from(encoded, 'base64').subarray(8))

function random(seed: number): () => number {
  let state = seed
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
}

/** Histograms of many shapes: empty, one value, the range's ends, bodies with tails, and bucket 0 (value 0). */
function histograms(seed: number): Histogram[] {
  const next = random(seed)
  const list: Histogram[] = [createLatencyHistogram()]
  const of = (values: number[]): Histogram => {
    const h = createLatencyHistogram()
    for (const v of values) recordLatencyUs(h, v)
    return h
  }
  list.push(of([1]), of([3_600_000_000]), of([1, 3_600_000_000]), of([2047, 2048, 2049, 4095, 4096]))
  const zero = createLatencyHistogram()
  zero.recordValue(0)
  zero.recordValue(0)
  zero.recordValue(15)
  list.push(zero)
  for (let i = 0; i < 40; i++) {
    const count = Math.floor(next() * 2000)
    const medianUs = 10 + next() * 200_000
    list.push(
      of(
        Array.from({ length: count }, () =>
          next() < 0.02 ? medianUs * (10 + 5000 * next()) : medianUs * Math.exp(0.6 * (next() - 0.5)),
        ),
      ),
    )
  }
  return list
}

const percentiles = [0, 0.1, 1, 33.3, 50, 90, 95, 99, 99.9, 99.99, 100]

describe('SparseHistogram (against the library\u2019s decode)', () => {
  for (const seed of [1, 2, 3]) {
    it(`gives the same count, percentiles and summary (seed ${seed})`, () => {
      for (const h of histograms(seed)) {
        const encoded = encodeHistogram(h)
        const sparse = SparseHistogram.fromV2Payload(payloadOf(encoded))!
        const library = decodeCompact(encoded)
        expect(sparse.totalCount).toBe(library.totalCount)
        for (const p of percentiles) expect(sparse.valueAtPercentile(p)).toBe(library.getValueAtPercentile(p))
        expect(sparse.summarize()).toEqual(summarizeLatency(library))
      }
    })

    it(`adds to a histogram exactly as the library's add (seed ${seed})`, () => {
      const viaSparse = createLatencyHistogram()
      const viaLibrary = createLatencyHistogram()
      for (const h of histograms(seed)) {
        const encoded = encodeHistogram(h)
        SparseHistogram.fromV2Payload(payloadOf(encoded))!.addTo(viaSparse)
        viaLibrary.add(decodeCompact(encoded))
        // The fields an encoding and a summary read, after every step.
        expect(viaSparse.totalCount).toBe(viaLibrary.totalCount)
        expect(viaSparse.maxValue).toBe(viaLibrary.maxValue)
        expect(viaSparse.minNonZeroValue).toBe(viaLibrary.minNonZeroValue)
      }
      expect(encodeHistogram(viaSparse)).toBe(encodeHistogram(viaLibrary))
      expect(summarizeLatency(viaSparse)).toEqual(summarizeLatency(viaLibrary))
    })
  }

  it('leaves histograms of any other shape to the library', () => {
    for (const [digits, highest] of [
      [2, 3_600_000_000],
      [3, 1_000_000],
    ] as const) {
      const h = hdr.build({ numberOfSignificantValueDigits: digits, highestTrackableValue: highest, bitBucketSize: 64 })
      h.recordValue(1234)
      expect(SparseHistogram.fromV2Payload(payloadOf(hdr.encodeIntoCompressedBase64(h)))).toBeUndefined()
    }
  })

  it('adds only to a histogram of the canonical shape', () => {
    const sparse = SparseHistogram.fromV2Payload(payloadOf(encodeHistogram(createLatencyHistogram())))!
    expect(() => sparse.addTo(hdr.build({ bitBucketSize: 64, highestTrackableValue: 1_000_000 }))).toThrow(
      /canonical latency shape/,
    )
  })

  describe('refuses encodings no encoder writes', () => {
    /** A canonical V2 header followed by these ZigZag LEB128 words; `claimed` overrides the payload length. */
    function payload(words: number[], claimed?: number): Buffer {
      const bytes: number[] = []
      for (const word of words) {
        let v = word >= 0 ? word * 2 : -word * 2 - 1
        for (let i = 0; i < 8 && v >= 128; i++) {
          bytes.push((v % 128) | 0x80)
          v = Math.floor(v / 128)
        }
        bytes.push(v)
      }
      const header = Buffer.alloc(40)
      header.writeUInt32BE(0x1c849313, 0)
      header.writeUInt32BE(claimed ?? bytes.length, 4)
      header.writeUInt32BE(3, 12)
      header.writeUInt32BE(1, 20)
      header.writeUInt32BE(3_600_000_000, 28)
      return Buffer.concat([header, Buffer.from(bytes)])
    }

    it('reads a well-formed one', () => {
      expect(SparseHistogram.fromV2Payload(payload([0, -999, 5, 2]))!.totalCount).toBe(7)
    })
    it('a run of zero buckets past the histogram\u2019s range (the library would walk every index claimed)', () => {
      expect(() => SparseHistogram.fromV2Payload(payload([1, -(2 ** 40)]))).toThrow(/past its range/)
    })
    it('a count past the range', () => {
      expect(() => SparseHistogram.fromV2Payload(payload([-23_552, 1]))).toThrow(/past its range/)
    })
    it('a payload length beyond its data', () => {
      expect(() => SparseHistogram.fromV2Payload(payload([1, 2], 1_000_000))).toThrow(/longer than its data/)
    })
    it('a count the library cannot hold', () => {
      expect(() => SparseHistogram.fromV2Payload(payload([2 ** 60]))).toThrow(/overflow/)
    })
  })
})
