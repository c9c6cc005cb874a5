/**
 * Which request of a weighted mix each send makes: smooth weighted round-robin (as nginx balances
 * upstreams), not a random draw. Over every run of `total weight` sends each request is chosen exactly
 * its weight times, spread evenly, so a 10% request is 10% of every second's sends (within one send)
 * instead of 10% on average with a random second-to-second spread.
 */
export class RequestMix {
  private readonly current: number[]
  private readonly total: number

  constructor(private readonly weights: readonly number[]) {
    if (weights.length === 0 || weights.some((w) => !Number.isInteger(w) || w < 1))
      throw new Error('a request mix needs positive integer weights')
    this.current = weights.map(() => 0)
    this.total = weights.reduce((sum, w) => sum + w, 0)
  }

  /** The index of the request the next send makes. */
  next(): number {
    if (this.weights.length === 1) return 0
    let best = 0
    for (let i = 0; i < this.weights.length; i++) {
      this.current[i]! += this.weights[i]!
      if (this.current[i]! > this.current[best]!) best = i
    }
    this.current[best]! -= this.total
    return best
  }
}
