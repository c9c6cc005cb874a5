import type { JsHistogram } from 'hdr-histogram-js/dist/JsHistogram.js'
import { deflateSync, inflateSync } from 'node:zlib'

/**
 * HdrHistogram's V2 compressed encoding (base64 of a cookie, a length and a zlib-deflated V2 payload), as
 * hdr-histogram-js's encodeIntoCompressedBase64 writes it and decodeFromCompressedBase64 reads it (the same
 * bytes: tests compare them), with Node's zlib as the package itself uses in Node. Written here because the
 * package's encoding module also loads pako, a JavaScript zlib for browsers: ~12 ms of start-up CPU in each
 * thread that records or reads latency.
 */

const v2EncodingCookieBase = 0x1c849303
const v2CompressedEncodingCookieBase = 0x1c849304
/** The low nibble's 0x10: LEB128-64b9B ZigZag words (the only V2 word format). */
const v2EncodingCookie = v2EncodingCookieBase | 0x10
const v2CompressedEncodingCookie = v2CompressedEncodingCookieBase | 0x10
const twoPow32 = 2 ** 32

/** A big-endian byte buffer that grows as it is written. */
class ByteWriter {
  bytes = new Uint8Array(256)
  length = 0

  private room(size: number): void {
    if (this.length + size <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + size))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }

  byte(value: number): void {
    this.room(1)
    this.bytes[this.length++] = value // a Uint8Array keeps the low 8 bits
  }

  int32(value: number): void {
    this.room(4)
    const u = value >>> 0
    this.bytes[this.length++] = u >>> 24
    this.bytes[this.length++] = (u >>> 16) & 0xff
    this.bytes[this.length++] = (u >>> 8) & 0xff
    this.bytes[this.length++] = u & 0xff
  }

  int64(value: number): void {
    this.int32(Math.floor(value / twoPow32))
    this.int32(value)
  }

  /** ZigZag, then LEB128 in at most 9 bytes (values up to 2^53, as JavaScript numbers hold them). */
  zigZag(signed: number): void {
    let value = signed >= 0 ? signed * 2 : -signed * 2 - 1
    for (let i = 0; i < 8 && value >= 0x80; i++) {
      this.byte((value % 0x80) | 0x80)
      value = Math.floor(value / 0x80)
    }
    this.byte(value)
  }
}

/** Reads what ByteWriter writes; reading past the end gives 0, as the package's ByteBuffer does. */
class ByteReader {
  position = 0
  constructor(readonly bytes: Uint8Array) {}

  int32(): number {
    const b = this.bytes
    const p = this.position
    this.position += 4
    return ((b[p] ?? 0) * 2 ** 24 + ((b[p + 1] ?? 0) << 16) + ((b[p + 2] ?? 0) << 8) + (b[p + 3] ?? 0)) >>> 0
  }

  int64(): number {
    const high = this.int32()
    return high * twoPow32 + this.int32()
  }
}

/** `histogram` in the V2 compressed encoding, base64. */
export function encodeV2Compressed(histogram: JsHistogram): string {
  const payload = new ByteWriter()
  payload.int32(v2EncodingCookie)
  payload.int32(0) // the payload's length, written below
  payload.int32(1) // normalizingIndexOffset, as the package writes it
  payload.int32(histogram.numberOfSignificantValueDigits)
  payload.int64(histogram.lowestDiscernibleValue)
  payload.int64(histogram.highestTrackableValue)
  payload.int64(1) // integerToDoubleValueConversionRatio, as the package writes it
  const start = payload.length
  // Counts up to the highest recorded value's bucket: a count as a positive word, a run of zeros as -run.
  const limit = histogram.countsArrayIndex(histogram.maxValue) + 1
  let index = 0
  while (index < limit) {
    const count = histogram.getCountAtIndex(index++)
    if (count < 0) throw new Error(`Cannot encode histogram containing negative counts (${count}) at index ${index}`)
    let zeros = 0
    if (count === 0) {
      zeros = 1
      while (index < limit && histogram.getCountAtIndex(index) === 0) {
        zeros++
        index++
      }
    }
    payload.zigZag(zeros > 1 ? -zeros : count)
  }
  const end = payload.length
  payload.length = 4
  payload.int32(end - start)
  payload.length = end

  const compressed = deflateSync(payload.bytes.subarray(0, end))
  const framed = Buffer.allocUnsafe(8 + compressed.length)
  framed.writeUInt32BE(v2CompressedEncodingCookie, 0)
  framed.writeUInt32BE(compressed.length, 4)
  compressed.copy(framed, 8)
  return framed.toString('base64')
}

/** The largest inflated payload decoded: 8 MiB, ~900,000 counts (Gauntlet's latency histograms need ~50,000). */
const maxPayloadBytes = 8 * 1024 * 1024

/**
 * Decodes the V2 compressed encoding (base64 bytes) into a histogram made by `make` with the encoded lowest
 * value, highest value and precision, sized to its content. Throws on anything else. Reads no further than
 * the payload's bytes (the package reads on as zeros to the length the payload claims, which sets no count).
 */
export function decodeV2Compressed<H extends JsHistogram>(
  data: Uint8Array,
  make: (lowest: number, highest: number, digits: number) => H,
): H {
  const framed = new ByteReader(data)
  if (data.length < 8 || (framed.int32() & ~0xf0) !== v2CompressedEncodingCookieBase)
    throw new Error('Encoding not supported, only V2 is supported')
  const compressedLength = framed.int32()
  // Bounded: a few bytes of deflate can claim megabytes (a histogram's counts take at most ~9 bytes each).
  const reader = new ByteReader(
    inflateSync(data.subarray(8, 8 + compressedLength), { maxOutputLength: maxPayloadBytes }),
  )
  if ((reader.int32() & ~0xf0) !== v2EncodingCookieBase)
    throw new Error('The buffer does not contain a Histogram (no valid V2 encoding cookie found)')
  const payloadLength = reader.int32()
  reader.int32() // normalizingIndexOffset, unused
  const digits = reader.int32()
  const lowest = reader.int64()
  const highest = reader.int64()
  reader.int64() // integerToDoubleValueConversionRatio, unused
  const histogram = make(lowest, highest, digits)
  // The counts: LEB128 words (up to 9 bytes), ZigZag-signed; a negative word is a run of zeros. Inlined:
  // the controller decodes every window of every agent.
  const bytes = reader.bytes
  const end = Math.min(reader.position + payloadLength, bytes.length)
  let p = reader.position
  let index = 0
  while (p < end) {
    let b = bytes[p++]!
    let word = b & 0x7f
    for (let scale = 0x80, i = 1; i < 9 && (b & 0x80) !== 0; i++, scale *= 0x80) {
      b = p < bytes.length ? bytes[p]! : 0
      p++
      word += (b & 0x7f) * scale
    }
    if (word % 2 === 0) histogram.setCountAtIndex(index++, word / 2)
    else index += (word + 1) / 2
  }
  histogram.establishInternalTackingValues(index)
  return histogram
}
