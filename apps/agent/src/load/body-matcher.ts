const empty = Buffer.alloc(0)

/**
 * Whether a response body contains a text, fed chunk by chunk as the parser hands the body over. It keeps
 * only the last (text length - 1) bytes between chunks, so a body of any size costs no memory beyond
 * that, and a match split across chunks (a multi-byte character included: bytes are compared) is found.
 */
export class BodyMatcher {
  private readonly needle: Buffer
  private carry: Buffer = empty
  found = false

  constructor(text: string) {
    this.needle = Buffer.from(text, 'utf8')
  }

  /** A new response begins. */
  reset(): void {
    this.found = false
    this.carry = empty
  }

  /** `length` bytes of body at `start` of `chunk` (the socket's chunk, which may hold more than body). */
  feed(chunk: Buffer, start: number, length: number): void {
    if (this.found) return
    const part = chunk.subarray(start, start + length)
    const keep = this.needle.length - 1
    if (this.carry.length > 0) {
      const seam = Buffer.concat([this.carry, part.subarray(0, keep)])
      if (seam.indexOf(this.needle) !== -1) return this.matched()
    }
    if (part.indexOf(this.needle) !== -1) return this.matched()
    if (keep === 0) return
    // Copied: the socket's chunk is not ours to hold on to.
    this.carry =
      part.length >= keep
        ? Buffer.from(part.subarray(part.length - keep))
        : Buffer.from(Buffer.concat([this.carry, part]).subarray(-keep))
  }

  private matched(): void {
    this.found = true
    this.carry = empty
  }
}
