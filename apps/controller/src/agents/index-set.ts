/**
 * A set of window indices (non-negative integers) as bits: which seconds an agent stored in a run. An
 * hour-long run costs 450 bytes per agent, and asking is a bit test rather than a query.
 */
export class IndexSet {
  private bits = new Uint8Array(64)

  add(index: number): void {
    const byte = Math.floor(index / 8)
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2))
      grown.set(this.bits)
      this.bits = grown
    }
    this.bits[byte]! |= 1 << (index & 7)
  }

  has(index: number): boolean {
    if (!Number.isSafeInteger(index) || index < 0) return false
    const byte = Math.floor(index / 8)
    return byte < this.bits.length && (this.bits[byte]! & (1 << (index & 7))) !== 0
  }
}
