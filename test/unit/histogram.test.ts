import * as hdr from 'hdr-histogram-js'
import { deflateSync } from 'node:zlib'
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

  // The metrics package builds the package's 64-bit histogram and encodes it itself (v2-encoding.ts), not
  // through the package's index: the strings must stay byte for byte those of the package's own functions,
  // which agents of other versions and tests use, and what either encodes must decode the same.
  const referenceOf = (lowest: number, highest: number, digits: number) =>
    hdr.build({
      lowestDiscernibleValue: lowest,
      highestTrackableValue: highest,
      numberOfSignificantValueDigits: digits as 1 | 2 | 3 | 4 | 5,
      bitBucketSize: 64,
      autoResize: false,
    })
  /** Every count, by index, and what is derived from them. */
  const shapeOf = (h: ReturnType<typeof referenceOf>) => {
    const js = h as unknown as {
      countsArrayLength: number
      getCountAtIndex(i: number): number
      lowestDiscernibleValue: number
      highestTrackableValue: number
    }
    const counts: Array<[number, number]> = []
    for (let i = 0; i < js.countsArrayLength; i++)
      if (js.getCountAtIndex(i) !== 0) counts.push([i, js.getCountAtIndex(i)])
    return {
      counts,
      totalCount: h.totalCount,
      minNonZeroValue: h.minNonZeroValue,
      maxValue: h.maxValue,
      lowest: js.lowestDiscernibleValue,
      highest: js.highestTrackableValue,
      digits: h.numberOfSignificantValueDigits,
      summary: summarizeLatency(h),
    }
  }
  // A small deterministic generator: the same values on every run.
  let seed = 7
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
  const randomValues = (n: number, f: (r: number) => [number, number]) => Array.from({ length: n }, () => f(random()))
  /** [what, lowest, highest, digits, [value, count] pairs] */
  const cases: Array<[string, number, number, number, Array<[number, number]>]> = [
    ['empty', 1, 3_600_000_000, 3, []],
    ['one value', 1, 3_600_000_000, 3, [[1, 1]]],
    ['the highest value', 1, 3_600_000_000, 3, [[3_600_000_000, 1]]],
    [
      'a spread of values',
      1,
      3_600_000_000,
      3,
      [1, 77, 500, 20_000, 1_000_000, 3e9].map((v): [number, number] => [v, 1]),
    ],
    ['10,000 random latencies', 1, 3_600_000_000, 3, randomValues(10_000, (r) => [1 + Math.floor(r ** 4 * 5e6), 1])],
    [
      'counts beyond 32 and 48 bits',
      1,
      3_600_000_000,
      3,
      [
        [1_000, 2 ** 33 + 5],
        [2_000, 2 ** 49 + 3],
        [3_000, 2 ** 52],
      ],
    ],
    ['another precision and range', 1_000, 60_000_000, 2, randomValues(500, (r) => [1_000 + Math.floor(r * 5e7), 1])],
  ]
  it.each(cases)(
    "encodes and decodes as hdr-histogram-js's own functions: %s",
    (_, lowest, highest, digits, values) => {
      const reference = referenceOf(lowest, highest, digits)
      for (const [value, count] of values) reference.recordValueWithCount(value, count)
      const theirs = hdr.encodeIntoCompressedBase64(reference)
      const expected = shapeOf(hdr.decodeFromCompressedBase64(theirs, 64, false))
      expect(shapeOf(decodeCompact(theirs))).toEqual(expected)
      expect(shapeOf(decodeCompact(` ${theirs}\n`))).toEqual(expected)
      expect(decodeCompact(theirs).constructor).toBe(reference.constructor)
      if (lowest === 1 && highest === 3_600_000_000 && digits === 3) {
        // The canonical shape: recorded into our own histogram, encoded and decoded by us.
        const ours = createLatencyHistogram()
        for (const [value, count] of values) ours.recordValueWithCount(value, count)
        expect(ours.constructor).toBe(reference.constructor)
        expect(encodeHistogram(ours)).toBe(theirs)
        // Decoded, its minimum and maximum are those of their buckets (as the package decodes them); counts are exact.
        const [decoded, recorded] = [shapeOf(decodeHistogram(theirs)), shapeOf(reference)]
        expect([decoded.counts, decoded.totalCount]).toEqual([recorded.counts, recorded.totalCount])
      } else {
        // Another shape (an agent of another precision): the package's histogram, encoded by us.
        expect(encodeHistogram(reference)).toBe(theirs)
      }
    },
  )

  it.each([
    ['a length that is not a multiple of 4', 'AAA', /not base64/],
    ['a character outside base64', 'AA*A', /not base64/],
    ['base64 that is no histogram', 'AAAA', /only V2/],
    ['nothing', '', /only V2/],
  ])('refuses %s', (_, text, message) => {
    expect(() => decodeCompact(text)).toThrow(message)
    expect(() => decodeHistogram(text)).toThrow(message)
  })

  it('refuses a payload that inflates past 8 MiB (87 KB of text claiming 64 MiB) without inflating it all', () => {
    const payload = Buffer.alloc(64 * 1024 * 1024)
    payload.writeInt32BE(0x1c849303, 0) // the V2 encoding cookie
    const compressed = deflateSync(payload)
    const framed = Buffer.alloc(8 + compressed.length)
    framed.writeInt32BE(0x1c849304, 0) // the V2 compressed cookie
    framed.writeInt32BE(compressed.length, 4)
    compressed.copy(framed, 8)
    const text = framed.toString('base64')
    expect(text.length).toBeLessThan(100_000)
    expect(() => decodeHistogram(text)).toThrow(/larger than 8388608 bytes/)
  })
})
