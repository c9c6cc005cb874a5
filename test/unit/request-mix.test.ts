import { describe, expect, it } from 'vitest'
import { RequestMix } from '../../apps/agent/src/load/request-mix.js'

const counts = (mix: RequestMix, sends: number, size: number): number[] => {
  const n = Array<number>(size).fill(0)
  for (let i = 0; i < sends; i++) n[mix.next()]!++
  return n
}

describe('RequestMix (smooth weighted round-robin)', () => {
  it('gives each request exactly its weight in every cycle of the total weight', () => {
    const mix = new RequestMix([70, 20, 10])
    for (let cycle = 0; cycle < 5; cycle++) expect(counts(mix, 100, 3)).toEqual([70, 20, 10])
  })

  it('keeps every window within one send of its share, wherever the window starts', () => {
    const mix = new RequestMix([70, 20, 10])
    // 150 sends a second: windows do not line up with cycles of 100.
    for (let second = 0; second < 20; second++) {
      const [a, b, c] = counts(mix, 150, 3)
      expect(Math.abs(a! - 105)).toBeLessThanOrEqual(1)
      expect(Math.abs(b! - 30)).toBeLessThanOrEqual(1)
      expect(Math.abs(c! - 15)).toBeLessThanOrEqual(1)
    }
  })

  it('spreads a small share evenly instead of in a burst', () => {
    const mix = new RequestMix([9, 1])
    const order = Array.from({ length: 30 }, () => mix.next())
    const positions = order.flatMap((r, i) => (r === 1 ? [i] : []))
    expect(positions).toHaveLength(3)
    expect(positions[1]! - positions[0]!).toBe(10)
    expect(positions[2]! - positions[1]!).toBe(10)
  })

  it('always answers 0 for a single request, and refuses weights that are not positive integers', () => {
    const one = new RequestMix([5])
    expect([one.next(), one.next()]).toEqual([0, 0])
    expect(() => new RequestMix([])).toThrow(/positive integer weights/)
    expect(() => new RequestMix([1, 0])).toThrow(/positive integer weights/)
    expect(() => new RequestMix([1.5])).toThrow(/positive integer weights/)
  })
})
