import type { WindowReport } from '@gauntlet/contracts'
import { sumWindows } from './window-sum.js'

/**
 * Gathers the windows of an agent's load threads and hands on one window per second, in order, once
 * every thread has delivered that second (each thread delivers its own in order). What a thread never
 * delivered (the run was stopped, a thread failed) is left out when the rest is flushed at the end; such
 * a window is marked incomplete. Once the consumer throws, nothing more is handed to it.
 */
export class ThreadWindows {
  private readonly pending = new Map<number, WindowReport[]>()
  private next = 0
  private closed = false

  constructor(
    private readonly threads: number,
    private readonly onWindow: (window: WindowReport) => void,
  ) {}

  add(window: WindowReport): void {
    if (this.closed) return
    const parts = this.pending.get(window.index)
    if (parts) parts.push(window)
    else this.pending.set(window.index, [window])
    for (let ready = this.pending.get(this.next); ready?.length === this.threads; ready = this.pending.get(this.next))
      this.emit(ready)
  }

  /** The run ended: hands on what is left, in order, and takes nothing more. */
  flush(): void {
    if (this.closed) return
    for (const index of [...this.pending.keys()].sort((a, b) => a - b)) this.emit(this.pending.get(index)!)
    this.closed = true
  }

  private emit(parts: WindowReport[]): void {
    const first = parts[0]!
    this.pending.delete(first.index)
    this.next = first.index + 1
    try {
      this.onWindow(mergeThreadWindows(parts, this.threads))
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
