/**
 * Estimates how far the controller's clock is ahead of this host's, NTP style, from heartbeat round
 * trips: offset = controllerTime - midpoint of the request. The sample with the shortest round trip
 * of the recent ones is the most precise (its error is at most half that round trip).
 */
export class ClockOffset {
  private samples: Array<{ offsetMs: number; rttMs: number }> = []

  constructor(private readonly keep = 16) {}

  add(sentAtMs: number, receivedAtMs: number, controllerTimeMs: number): void {
    const rttMs = Math.max(0, receivedAtMs - sentAtMs)
    this.samples.push({ offsetMs: controllerTimeMs - (sentAtMs + receivedAtMs) / 2, rttMs })
    if (this.samples.length > this.keep) this.samples.shift()
  }

  /** Whether any round trip has been measured yet. */
  get known(): boolean {
    return this.samples.length > 0
  }

  /** Best estimate: controller clock = local clock + offsetMs (0 before any sample). */
  get offsetMs(): number {
    return this.best()?.offsetMs ?? 0
  }

  /** Upper bound of the estimate's error. */
  get uncertaintyMs(): number {
    const best = this.best()
    return best ? best.rttMs / 2 : Infinity
  }

  private best(): { offsetMs: number; rttMs: number } | undefined {
    let best: { offsetMs: number; rttMs: number } | undefined
    for (const sample of this.samples) if (!best || sample.rttMs < best.rttMs) best = sample
    return best
  }
}
