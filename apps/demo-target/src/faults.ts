/**
 * Time-based faults: a one-shot event-loop stall and a slow memory leak. Both read the knobs live,
 * so PUT /__knobs can retune them while the target runs.
 */
import { performance } from 'node:perf_hooks'
import type { Knobs } from './knobs.js'

export interface FaultStats {
  stallsDone: number
  leakedKb: number
}

/**
 * Blocks the event loop once, stallAfterMs after the first request. A busy loop rather than a timer:
 * the point is that nothing else runs (no accepts, no responses, no timers), like a long GC or a
 * CPU-bound handler would do to a real service.
 */
export class OneShotStall {
  private armed = true
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly knobs: Readonly<Knobs>,
    private readonly stats: FaultStats,
  ) {}

  /** Called for every served request; only the first after arming starts the countdown. */
  onRequest(): void {
    if (!this.armed) return
    this.armed = false
    if (this.knobs.stallForMs <= 0) return
    this.timer = setTimeout(() => this.stall(), this.knobs.stallAfterMs).unref()
  }

  /** After a runtime change of the stall knobs: forget any countdown, count from the next request. */
  rearm(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.armed = true
  }

  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.armed = false
  }

  private stall(): void {
    this.timer = undefined
    const until = performance.now() + this.knobs.stallForMs
    while (performance.now() < until) {
      // Spin on purpose: this is the stall.
    }
    this.stats.stallsDone++
  }
}

/** Tick often enough that growth looks smooth on a 1 s sampled graph. */
const leakTickMs = 250
/** Largest array retained per allocation, well below the size where V8 stops using fast elements. */
const leakChunkDoubles = 8192

/**
 * Retains leakKbPerS KB per second in the JS heap (arrays of doubles, so it shows in heapUsed and RSS
 * alike) until stopped. The memory is kept for the life of the object, as a real leak would be.
 */
export class MemoryLeak {
  private readonly retained: number[][] = []
  private timer: NodeJS.Timeout | undefined
  private lastTickAt = 0
  /** Fraction of a double owed from previous ticks, so low rates still add up exactly. */
  private owedDoubles = 0
  private retainedDoubles = 0

  constructor(
    private readonly knobs: Readonly<Knobs>,
    private readonly stats: FaultStats,
  ) {}

  start(): void {
    if (this.timer !== undefined) return
    this.lastTickAt = performance.now()
    this.timer = setInterval(() => this.tick(), leakTickMs).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private tick(): void {
    const now = performance.now()
    this.owedDoubles += (this.knobs.leakKbPerS * 1024 * (now - this.lastTickAt)) / 1000 / 8
    this.lastTickAt = now
    while (this.owedDoubles >= 1) {
      const n = Math.min(leakChunkDoubles, Math.floor(this.owedDoubles))
      // Non-integer fill keeps the elements unboxed doubles: 8 bytes each, really allocated.
      this.retained.push(new Array<number>(n).fill(0.5))
      this.owedDoubles -= n
      this.retainedDoubles += n
    }
    this.stats.leakedKb = Math.round((this.retainedDoubles * 8) / 1024)
  }
}
