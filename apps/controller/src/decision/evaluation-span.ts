import { totalErrors, type WindowReport } from '@gauntlet/contracts'

/**
 * Cuts a step's 1 s windows into evaluation spans: the shortest run of consecutive windows holding
 * `minSamples` requests with an outcome, capped at `maxSpanS` seconds. Spans do not overlap, so one bad
 * second is counted once, not in every span that covers it.
 */
export class EvaluationSpans {
  private open: WindowReport[] = []
  private samples = 0

  constructor(
    private readonly minSamples: number,
    private readonly maxSpanS: number,
  ) {}

  /** Adds the next window; returns the windows of the span it closes, if it closes one. */
  add(window: WindowReport): WindowReport[] | undefined {
    this.open.push(window)
    this.samples += window.ok + totalErrors(window.errors)
    const lengthS = window.index - this.open[0]!.index + 1
    if (this.samples < this.minSamples && lengthS < this.maxSpanS) return undefined
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
