import { totalErrors, type WindowReport } from '@gauntlet/contracts'

/**
 * Cuts a step's 1 s buckets into evaluation windows: the shortest run of consecutive buckets holding
 * `minSamples` requests with an outcome, capped at `maxWindowS` seconds. Windows do not overlap, so
 * one bad second is counted once, not in every window that covers it.
 */
export class EvaluationWindows {
  private open: WindowReport[] = []
  private samples = 0

  constructor(
    private readonly minSamples: number,
    private readonly maxWindowS: number,
  ) {}

  /** Adds the next bucket; returns the buckets of the window it closes, if it closes one. */
  add(bucket: WindowReport): WindowReport[] | undefined {
    this.open.push(bucket)
    this.samples += bucket.ok + totalErrors(bucket.errors)
    const spanS = bucket.index - this.open[0]!.index + 1
    if (this.samples < this.minSamples && spanS < this.maxWindowS) return undefined
    const closed = this.open
    this.reset()
    return closed
  }

  /** A new step begins: what was open belongs to the old load and is dropped. */
  reset(): void {
    this.open = []
    this.samples = 0
  }
}
