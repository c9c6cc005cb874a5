import { GauntletError, type WindowReport } from '@gauntlet/contracts'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LoadPlan, LoadRunOptions, LoadRunResult } from '../../apps/agent/src/load/load-generator.js'
import { startLoadInWorkers, type ThreadStarter } from '../../apps/agent/src/load/multi-worker-load.js'
import type { WorkerLoadRun } from '../../apps/agent/src/load/worker-load-generator.js'
import { parseTargetAllowList } from '../../apps/agent/src/safety/target-allow-list.js'
import { threadWindow } from '../helpers/buckets.js'

/**
 * The orchestration of an agent's load threads when threads misbehave, with stand-in threads the test
 * drives (a real thread cannot be made to hang or fail on cue). Timers are fake: the grace and the
 * watchdogs are advanced, never waited for.
 */

const loopback = parseTargetAllowList('127.0.0.1')
const graceMs = 2000
const timeoutMs = 1000

const plan = (overrides: Partial<LoadPlan> = {}): LoadPlan => ({
  target: { protocol: 'http:', hostname: '127.0.0.1', port: 1, path: '/', method: 'GET', headers: {} },
  steps: [{ rps: 100, durationS: 30, step: 0 }],
  timeoutMs,
  maxConnections: 100,
  startAtEpochMs: 1_700_000_000_000,
  ...overrides,
})

/** A stand-in load thread: it does what the test tells it, and by default stops when asked (as a real one does). */
class FakeThread implements WorkerLoadRun {
  readonly result: Promise<LoadRunResult>
  /** Stops when asked: ends aborted, after `onStop` (its abort flush). False: a thread that never answers. */
  answersStop = true
  onStop: () => void = () => {}
  replanAnswer: Promise<boolean> = Promise.resolve(true)
  terminated = false
  private settle!: { resolve: (r: LoadRunResult) => void; reject: (e: Error) => void }
  private done = false

  constructor(
    readonly plan: LoadPlan,
    readonly options: LoadRunOptions,
  ) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }))
    options.signal?.addEventListener('abort', () => {
      if (!this.answersStop) return
      this.onStop()
      this.end({ aborted: true })
    })
  }

  get stopAsked(): boolean {
    return this.options.signal?.aborted === true
  }

  end(result: Partial<LoadRunResult> = {}): void {
    if (this.done) return
    this.done = true
    this.settle.resolve({ aborted: false, peakConnections: 1, ...result })
  }

  fail(error: Error): void {
    if (this.done) return
    this.done = true
    this.settle.reject(error)
  }

  replan(): Promise<boolean> {
    return this.done ? Promise.resolve(false) : this.replanAnswer
  }

  reconnect(): Promise<void> {
    return Promise.resolve()
  }

  terminate(): void {
    this.terminated = true
    // As worker.terminate(): the thread is gone, its result rejects on exit.
    this.fail(new Error('load worker exited with code 1 before finishing'))
  }
}

function fakeThreads(): { start: ThreadStarter; threads: FakeThread[] } {
  const threads: FakeThread[] = []
  return {
    threads,
    start: (p, o) => {
      const thread = new FakeThread(p, o)
      threads.push(thread)
      return thread
    },
  }
}

/** Runs `workers` stand-in threads; `settled` says whether (and how) the run's result has settled yet. */
function run(workers: number, options: Partial<LoadRunOptions> = {}, overrides: Partial<LoadPlan> = {}) {
  const { start, threads } = fakeThreads()
  const windows: WindowReport[] = []
  const events: string[] = []
  const load = startLoadInWorkers(
    plan(overrides),
    {
      onWindow: (w) => {
        windows.push(w)
        events.push(`window ${w.index}`)
      },
      ...options,
    },
    workers,
    loopback,
    { start, stopGraceMs: graceMs },
  )
  const outcome: { settled: boolean; error?: Error; result?: LoadRunResult } = { settled: false }
  load.result.then(
    (result) => {
      Object.assign(outcome, { settled: true, result })
      events.push('settled')
    },
    (error: Error) => {
      Object.assign(outcome, { settled: true, error })
      events.push('settled')
    },
  )
  return { load, threads, windows, events, outcome }
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('load threads: one fails', () => {
  it('the run settles only after every other thread has stopped, and after their last windows', async () => {
    const { threads, windows, events, outcome } = run(2)
    const [first, second] = threads as [FakeThread, FakeThread]
    first.options.onWindow(threadWindow(0))
    second.options.onWindow(threadWindow(0))
    first.options.onWindow(threadWindow(1))
    // Thread 2 is slow to stop: it flushes its last window only when the test lets it end.
    second.answersStop = false
    first.fail(new Error('boom'))
    await vi.advanceTimersByTimeAsync(graceMs - 1)
    expect(second.stopAsked).toBe(true)
    expect(outcome.settled).toBe(false)

    second.options.onWindow(threadWindow(1))
    second.end({ aborted: true })
    await vi.advanceTimersByTimeAsync(0)
    expect(events).toEqual(['window 0', 'window 1', 'settled'])
    expect(windows[1]).toMatchObject({ index: 1, complete: true, planned: 100 })
    expect(outcome.error).toBeInstanceOf(GauntletError)
    // Which thread, and no internals of its error.
    expect(outcome.error!.message).toBe('load thread 1 of 2 failed: internal error in the load generator')
    expect((outcome.error as GauntletError).cause).toEqual(new Error('boom'))
    expect(second.terminated).toBe(false)
  })

  it("the other threads' windows owed by the failed one are handed on, marked incomplete, in order", async () => {
    const { threads, windows, outcome } = run(2)
    const [first, second] = threads as [FakeThread, FakeThread]
    second.onStop = () => second.options.onWindow(threadWindow(2))
    second.options.onWindow(threadWindow(0))
    second.options.onWindow(threadWindow(1))
    first.options.onWindow(threadWindow(0))
    first.fail(new GauntletError('internal', 'its thread exited'))
    await vi.advanceTimersByTimeAsync(0)
    expect(outcome.error!.message).toBe('load thread 1 of 2 failed: its thread exited')
    expect(windows.map((w) => [w.index, w.complete, w.planned])).toEqual([
      [0, true, 100],
      [1, false, 50],
      [2, false, 50],
    ])
  })

  it('a thread that could not be started fails the run like one that failed; the others are stopped', async () => {
    const { start, threads } = fakeThreads()
    let started = 0
    const load = startLoadInWorkers(plan(), { onWindow: () => {} }, 3, loopback, {
      start: (p, o, a) => {
        if (started++ === 1) throw new GauntletError('internal', 'no thread for you')
        return start(p, o, a)
      },
    })
    await expect(load.result).rejects.toThrow('load thread 2 of 3 failed: no thread for you')
    expect(threads.map((t) => t.stopAsked)).toEqual([true, true])
  })

  it('a thread that stops early (its rows ran out) stops the others; the run says why, without failing', async () => {
    const { threads, outcome } = run(2)
    threads[0]!.end({ aborted: true, stoppedBy: 'data set "users" ran out' })
    await vi.advanceTimersByTimeAsync(0)
    expect(threads[1]!.stopAsked).toBe(true)
    expect(outcome.result).toEqual({ aborted: true, peakConnections: 2, stoppedBy: 'data set "users" ran out' })
  })
})

describe('load threads: one hangs', () => {
  it('a thread that does not answer a stop is terminated after the grace; the run names it', async () => {
    const stop = new AbortController()
    const { threads, outcome, windows } = run(2, { signal: stop.signal })
    const [first, second] = threads as [FakeThread, FakeThread]
    first.options.onWindow(threadWindow(0))
    second.answersStop = false
    stop.abort()
    await vi.advanceTimersByTimeAsync(graceMs - 1)
    expect(second.terminated).toBe(false)
    expect(outcome.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(second.terminated).toBe(true)
    expect(first.terminated).toBe(false)
    expect(outcome.error).toBeInstanceOf(GauntletError)
    expect(outcome.error!.message).toBe('load thread 2 of 2 did not stop within 2 s of being asked and was terminated')
    // What the stopped thread measured is still handed on, marked incomplete.
    expect(windows.map((w) => [w.index, w.complete])).toEqual([[0, false]])
  })

  it('one failed and another hung: the run gives the failure first, then the terminated thread', async () => {
    const { threads, outcome } = run(3)
    threads[2]!.answersStop = false
    threads[0]!.fail(new GauntletError('internal', 'its thread exited'))
    await vi.advanceTimersByTimeAsync(graceMs)
    expect(outcome.error!.message).toBe(
      'load thread 1 of 3 failed: its thread exited; ' +
        'load thread 3 of 3 did not stop within 2 s of being asked and was terminated',
    )
  })

  it('with one thread too: it is terminated after the grace', async () => {
    const stop = new AbortController()
    const { threads, outcome } = run(1, { signal: stop.signal })
    threads[0]!.answersStop = false
    stop.abort()
    await vi.advanceTimersByTimeAsync(graceMs)
    expect(threads[0]!.terminated).toBe(true)
    expect(outcome.error!.message).toBe('the load thread did not stop within 2 s of being asked and was terminated')
  })

  it('a thread far behind the others in delivering its windows is stuck: the run fails naming it', async () => {
    const { threads, outcome } = run(2)
    const [first, second] = threads as [FakeThread, FakeThread]
    second.answersStop = false
    first.options.onWindow(threadWindow(0))
    // A thread may lag by two request timeouts (a send leaves a timeout late, then takes a timeout) and 5 s.
    const limitMs = 2 * timeoutMs + 5000
    await vi.advanceTimersByTimeAsync(limitMs)
    expect(first.stopAsked).toBe(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(first.stopAsked).toBe(true)
    await vi.advanceTimersByTimeAsync(graceMs)
    expect(second.terminated).toBe(true)
    expect(outcome.error!.message).toBe(
      'load thread 2 of 2 delivered no window for second 0 within 7 s of load thread 1 of 2 (stuck, or far behind); ' +
        'load thread 2 of 2 did not stop within 2 s of being asked and was terminated',
    )
  })

  it('threads that never get ready for the shared start fail the run after 30 s, named', async () => {
    const { threads, outcome } = run(3, {}, { startAtEpochMs: undefined })
    void threads[1]!.options.sharedStart!()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(threads.every((t) => t.stopAsked)).toBe(true)
    expect(outcome.error!.message).toBe('load threads 1, 3 of 3 did not get ready to start within 30 s')
  })
})

describe('load threads: replans', () => {
  it('a replan the threads answer differently stops the load and is refused', async () => {
    const { load, threads, outcome } = run(2)
    threads[1]!.replanAnswer = Promise.resolve(false)
    await expect(load.replan(10, [{ rps: 50, durationS: 20, step: 1 }])).resolves.toBe(false)
    expect(threads.map((t) => t.stopAsked)).toEqual([true, true])
    await vi.advanceTimersByTimeAsync(0)
    expect(outcome.result).toMatchObject({ aborted: true })
  })

  it('a replan every thread takes is taken, and the load goes on', async () => {
    const { load, threads } = run(2)
    await expect(load.replan(10, [{ rps: 50, durationS: 20, step: 1 }])).resolves.toBe(true)
    expect(threads.map((t) => t.stopAsked)).toEqual([false, false])
  })

  it('a replan every thread refuses is refused, and the load goes on', async () => {
    const { load, threads } = run(2)
    for (const thread of threads) thread.replanAnswer = Promise.resolve(false)
    await expect(load.replan(10, [{ rps: 50, durationS: 20, step: 1 }])).resolves.toBe(false)
    expect(threads.map((t) => t.stopAsked)).toEqual([false, false])
  })

  it('a thread that does not answer a replan within the grace is stuck: refused, and the run fails naming it', async () => {
    const { load, threads, outcome } = run(2)
    threads[0]!.replanAnswer = new Promise<boolean>(() => {})
    threads[0]!.answersStop = false
    const answer = load.replan(10, [{ rps: 50, durationS: 20, step: 1 }])
    await vi.advanceTimersByTimeAsync(graceMs)
    await expect(answer).resolves.toBe(false)
    expect(threads[1]!.stopAsked).toBe(true)
    await vi.advanceTimersByTimeAsync(graceMs)
    expect(threads[0]!.terminated).toBe(true)
    expect(outcome.error!.message).toMatch(
      /^load thread 1 of 2 did not answer a replan within 2 s; load thread 1 of 2 did not stop/,
    )
  })
})

describe('load threads: the consumer throws', () => {
  it('in onStart: the run fails with its error after the threads stop, and nothing is thrown at the thread', async () => {
    const { threads, outcome } = run(2, {
      onStart: () => {
        throw new Error('storage is full')
      },
    })
    expect(() => threads[0]!.options.onStart!(1_700_000_000_000)).not.toThrow()
    await vi.advanceTimersByTimeAsync(0)
    expect(threads.map((t) => t.stopAsked)).toEqual([true, true])
    expect(outcome.error).toEqual(new Error('storage is full'))
  })

  it('in onWindow: the same, and it is handed nothing more', async () => {
    let calls = 0
    const { threads, outcome } = run(2, {
      onWindow: () => {
        calls++
        throw new Error('storage is full')
      },
    })
    threads[1]!.onStop = () => threads[1]!.options.onWindow(threadWindow(1))
    threads[0]!.options.onWindow(threadWindow(0))
    expect(() => threads[1]!.options.onWindow(threadWindow(0))).not.toThrow()
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toBe(1)
    expect(outcome.error).toEqual(new Error('storage is full'))
  })
})
