import type { WindowReport } from '@gauntlet/contracts'
import { sumWindows } from './window-sum.js'

/** A second some threads delivered and others still owe. */
export interface OwedWindow {
  index: number
  /** The threads (0-based) that have not delivered it. */
  missing: number[]
  /** The first thread that delivered it, and how long ago. */
  firstThread: number
  ageMs: number
}

interface Second {
  parts: Array<WindowReport | undefined>
  count: number
  firstThread: number
  firstAt: number
}

/**
 * Gathers the windows of an agent's load threads and hands on one window per second, in order, once
 * every thread has delivered that second (each thread delivers its own in order, once). What a thread
 * never delivered (the run was stopped, a thread failed) is left out when the rest is flushed at the end;
 * such a window is marked incomplete. A window for a second already handed on, or one a thread already
 * delivered, is ignored: it would repeat a second or count a thread twice. Once the consumer throws,
 * nothing more is handed to it.
 */
export class ThreadWindows {
  private readonly pending = new Map<number, Second>()
  /** Per thread, the lowest second it may still deliver. */
  private readonly expected: number[]
  private next = 0
  private closed = false

  constructor(
    private readonly threads: number,
    private readonly onWindow: (window: WindowReport) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.expected = Array.from({ length: threads }, () => 0)
  }

  add(thread: number, window: WindowReport): void {
    if (this.closed || window.index < this.next || window.index < this.expected[thread]!) return
    this.expected[thread] = window.index + 1
    let second = this.pending.get(window.index)
    if (!second) {
      second = {
        parts: Array.from({ length: this.threads }, (): WindowReport | undefined => undefined),
        count: 0,
        firstThread: thread,
        firstAt: this.now(),
      }
      this.pending.set(window.index, second)
    }
    second.parts[thread] = window
    second.count++
    for (let ready = this.pending.get(this.next); ready?.count === this.threads; ready = this.pending.get(this.next))
      this.emit(this.next, ready)
  }

  /** The oldest second still owed by some thread, if any thread delivered it. */
  oldestOwed(): OwedWindow | undefined {
    if (this.closed || this.pending.size === 0) return undefined
    const index = Math.min(...this.pending.keys())
    const second = this.pending.get(index)!
    const missing = [...second.parts.keys()].filter((thread) => second.parts[thread] === undefined)
    return { index, missing, firstThread: second.firstThread, ageMs: this.now() - second.firstAt }
  }

  /** The run ended: hands on what is left, in order, and takes nothing more. */
  flush(): void {
    if (this.closed) return
    for (const index of [...this.pending.keys()].sort((a, b) => a - b)) this.emit(index, this.pending.get(index)!)
    this.closed = true
  }

  private emit(index: number, second: Second): void {
    this.pending.delete(index)
    this.next = index + 1
    try {
      this.onWindow(
        mergeThreadWindows(
          second.parts.filter((part) => part !== undefined),
          this.threads,
        ),
      )
    } catch (error) {
      this.closed = true
      throw error
    }
  }
}

/** One second of the agent from its threads' windows of it (`threads`: how many owed it). */
export function mergeThreadWindows(parts: readonly WindowReport[], threads: number): WindowReport {
  const first = parts[0]!
  return {
    index: first.index,
    step: first.step,
    startedAt: Math.min(...parts.map((p) => p.startedAt)),
    planned: parts.reduce((n, p) => n + p.planned, 0),
    ...sumWindows(parts),
    complete: parts.length === threads && parts.every((p) => p.complete),
  }
}
