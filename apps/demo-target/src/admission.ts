/**
 * Capacity enforcement. `shed` is a token bucket refilling at capacity/s with room for a tenth of a
 * second of burst; `queue` releases waiting requests FIFO, spaced 1/capacity s apart, so an
 * overloaded target answers slower instead of failing. Knobs are read live on every decision, so a
 * PUT /__knobs takes effect on the next request (call reconfigure() to re-time the queue).
 */
import { performance } from 'node:perf_hooks'
import type { Knobs } from './knobs.js'

export interface AdmissionStats {
  shed: number
  maxQueue: number
  queued: number
}

/**
 * How far the queue's pacing clock may lag real time. Timers fire late by a ms or so, and without
 * some slack every late wake-up would permanently lose throughput; with it, a hiccup (or a stall)
 * is followed by a catch-up burst of at most this many ms worth of requests.
 */
const queueSlackMs = 10

export class Admission<T> {
  private tokens = 0
  private refilledAt = 0
  /** Capacity the bucket was last sized for; null means it starts full at the next decision. */
  private bucketRps: number | null = null
  private readonly queue: T[] = []
  /** Earliest time (performance.now) the next queued request may be released. */
  private nextSlotAt = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly knobs: Readonly<Knobs>,
    private readonly stats: AdmissionStats,
    private readonly release: (item: T) => void,
    /** Queued requests whose client went away are dropped without using a slot. */
    private readonly abandoned: (item: T) => boolean,
  ) {}

  /** Releases `item` now or later; returns false when it was shed and must be answered 503. */
  admit(item: T): boolean {
    const capacity = this.knobs.capacityRps
    if (capacity === null) {
      this.release(item)
      return true
    }
    const now = performance.now()
    if (this.knobs.overload === 'shed') {
      if (!this.takeToken(now, capacity)) {
        this.stats.shed++
        return false
      }
      this.release(item)
      return true
    }
    if (this.queue.length === 0 && now >= this.nextSlotAt) {
      this.takeSlot(now, capacity)
      this.release(item)
      return true
    }
    this.queue.push(item)
    this.stats.queued = this.queue.length
    if (this.queue.length > this.stats.maxQueue) this.stats.maxQueue = this.queue.length
    this.schedule()
    return true
  }

  /** Re-times the queue after a knob change (a lifted limit flushes it at once). */
  reconfigure(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.drain()
  }

  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
    this.stats.queued = 0
  }

  private takeToken(now: number, capacity: number): boolean {
    const size = Math.max(1, capacity / 10)
    if (this.bucketRps === null) {
      this.tokens = size
      this.refilledAt = now
    } else {
      this.tokens = Math.min(size, this.tokens + ((now - this.refilledAt) * this.bucketRps) / 1000)
      this.refilledAt = now
    }
    this.bucketRps = capacity
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  private takeSlot(now: number, capacity: number): void {
    this.nextSlotAt = Math.max(this.nextSlotAt, now - queueSlackMs) + 1000 / capacity
  }

  private drain(): void {
    const now = performance.now()
    while (this.queue.length > 0) {
      const item = this.queue[0] as T
      if (this.abandoned(item)) {
        this.queue.shift()
        continue
      }
      const capacity = this.knobs.capacityRps
      if (capacity !== null) {
        if (now < this.nextSlotAt) break
        this.takeSlot(now, capacity)
      }
      this.queue.shift()
      this.release(item)
    }
    this.stats.queued = this.queue.length
    this.schedule()
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    const wait = Math.max(1, Math.ceil(this.nextSlotAt - performance.now()))
    // Unref'd: waiting requests hold their sockets open anyway, and a closed server must not linger.
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.drain()
    }, wait).unref()
  }
}
