import { GauntletError, type PlannedStep, type WindowReport } from '@gauntlet/contracts'
import type { LoadPlan, LoadRunOptions, LoadRunResult } from './load-generator.js'
import { threadPlans } from './thread-plans.js'
import { ThreadWindows } from './thread-windows.js'
import { startLoadInWorker, type WorkerLoadRun } from './worker-load-generator.js'
import { assertHostAllowed, targetAllowListFromEnv, type TargetAllowList } from '../safety/target-allow-list.js'

/** How far after the last thread is warm the shared second 0 is set, so the start reaches every thread in time. */
const sharedStartLeadMs = 50

/**
 * A replan is refused here this long before the second it changes: well before each thread's own 20 ms
 * margin, so the threads all take it or (stopped, say) all refuse it.
 */
const replanLeadMs = 100

/**
 * How long a thread may take to answer a stop or a replan. Both are handled in one turn of its event
 * loop: a thread silent this long is stuck (a loop that never yields), and is terminated.
 */
const defaultStopGraceMs = 5_000

/** How long threads may take, from their start, to be warm and ready for the shared second 0. */
const readyLimitMs = 30_000

/**
 * Beyond twice the request timeout (a send may leave a timeout late and then take a timeout), how long a
 * thread may lag behind another in delivering a second before it is taken as stuck.
 */
const windowLagSlackMs = 5_000
const lagCheckEveryMs = 1_000

/** Starts one load thread (startLoadInWorker; tests: a thread that fails or hangs). */
export type ThreadStarter = (plan: LoadPlan, options: LoadRunOptions, allow: TargetAllowList) => WorkerLoadRun

export interface ThreadOptions {
  start?: ThreadStarter
  /** See defaultStopGraceMs. */
  stopGraceMs?: number
}

/**
 * The agent's load on `workers` threads (see threadPlans), seen from outside as one generator: the same
 * contract as startLoadInWorker, with one merged window per second, in order. Without a planned start
 * the threads warm their connections, then start together. When one thread stops the load early
 * (aborted, a unique data set ran out) the others are stopped too; when one fails, the others are
 * stopped and the run fails with its error. Either way the result settles only once every thread has
 * ended: a thread that does not answer a stop within the grace is terminated, and the run fails saying
 * which. Nothing here throws into the caller's event loop: one bad run never ends the process.
 */
export function startLoadInWorkers(
  plan: LoadPlan,
  options: LoadRunOptions,
  workers: number,
  allow: TargetAllowList = targetAllowListFromEnv(),
  threads: ThreadOptions = {},
): WorkerLoadRun {
  // Refused before any thread starts (each thread checks again).
  assertHostAllowed(plan.target.hostname, allow)
  return new ThreadGroup(
    plan,
    threadPlans(plan, workers),
    options,
    allow,
    threads.start ?? startLoadInWorker,
    threads.stopGraceMs ?? defaultStopGraceMs,
  )
}

type Ended = { result: LoadRunResult } | { error: unknown }

class ThreadGroup implements WorkerLoadRun {
  readonly result: Promise<LoadRunResult>
  private readonly stop = new AbortController()
  private readonly windows: ThreadWindows
  private readonly runs: WorkerLoadRun[]
  private readonly ended: Array<Ended | undefined>
  private readonly terminated = new Set<number>()
  /** The first failure (a thread's, the consumer's, a stuck thread); the run rejects with it. */
  private failure: Error | undefined
  private stopping = false
  /** The stop grace ran out (threads still running then are terminated). */
  private graceOver = false
  private startEpochMs: number | undefined
  private readonly timers: NodeJS.Timeout[] = []
  private settle!: { resolve: (result: LoadRunResult) => void; reject: (error: Error) => void }

  constructor(
    plan: LoadPlan,
    plans: readonly LoadPlan[],
    private readonly options: LoadRunOptions,
    allow: TargetAllowList,
    start: ThreadStarter,
    private readonly stopGraceMs: number,
  ) {
    const count = plans.length
    this.ended = Array.from({ length: count }, (): Ended | undefined => undefined)
    this.result = new Promise<LoadRunResult>((resolve, reject) => (this.settle = { resolve, reject }))
    this.windows = new ThreadWindows(count, options.onWindow)
    const barrier = count > 1 && plan.startAtEpochMs === undefined ? this.startBarrier(count) : undefined
    this.runs = plans.map((threadPlan, k) => {
      try {
        return start(
          threadPlan,
          {
            signal: this.stop.signal,
            onWindow: (window) => this.deliver(k, window),
            onStart: (epochMs) => this.started(epochMs),
            ...(barrier ? { sharedStart: () => barrier.ready(k) } : {}),
          },
          allow,
        )
      } catch (error) {
        return notStarted(error)
      }
    })
    if (count > 1) this.every(lagCheckEveryMs, () => this.checkLag(2 * plan.timeoutMs + windowLagSlackMs))
    if (options.signal?.aborted) this.requestStop()
    options.signal?.addEventListener('abort', this.onAbort, { once: true })
    for (const [k, run] of this.runs.entries()) {
      run.result.then(
        (result) => this.threadEnded(k, { result }),
        (error: unknown) => this.threadEnded(k, { error }),
      )
    }
  }

  // Every thread gets the same tail; the plan changed only if every one took it. Threads that disagree
  // would send lanes of two plans (and the controller would count a share as not carried that is): the
  // load stops instead, and the run sees this agent's load end. A thread that does not answer is stuck.
  async replan(fromS: number, tail: PlannedStep[]): Promise<boolean> {
    if (this.stopping) return false
    if (this.runs.length > 1 && this.startEpochMs !== undefined) {
      if (Date.now() > this.startEpochMs + fromS * 1000 - replanLeadMs) return false
    }
    const answers = await Promise.all(this.runs.map((run) => this.withinGrace(run.replan(fromS, tail))))
    const silent = answers.flatMap((answer, k) => (answer === undefined && this.ended[k] === undefined ? [k] : []))
    if (silent.length > 0)
      this.fail(
        new GauntletError(
          'internal',
          `${this.names(silent)} did not answer a replan within ${seconds(this.stopGraceMs)}`,
        ),
      )
    if (answers.every((answer) => answer === true)) return true
    if (answers.some((answer) => answer === true)) this.requestStop()
    return false
  }

  async reconnect(): Promise<void> {
    await Promise.all(this.runs.map((run) => run.reconnect()))
  }

  /** Ends every thread at once, without the grace. */
  terminate(): void {
    this.requestStop()
    this.terminateRunning()
  }

  // --- what the threads report ----------------------------------------------------------------

  private deliver(thread: number, window: WindowReport): void {
    try {
      this.windows.add(thread, window)
    } catch (error) {
      this.fail(error)
    }
  }

  private started(epochMs: number): void {
    if (this.startEpochMs !== undefined) return
    this.startEpochMs = epochMs
    try {
      this.options.onStart?.(epochMs)
    } catch (error) {
      this.fail(error)
    }
  }

  private threadEnded(k: number, ended: Ended): void {
    this.ended[k] = ended
    if ('error' in ended) {
      if (!this.terminated.has(k))
        this.fail(
          new GauntletError('internal', `${this.names([k])} failed: ${shown(ended.error)}`, { cause: ended.error }),
        )
    } else if (ended.result.aborted) this.requestStop()
    if (this.ended.every((e) => e !== undefined)) this.finish()
  }

  // --- stopping ---------------------------------------------------------------------------------

  private readonly onAbort = (): void => this.requestStop()

  private fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error))
    this.requestStop()
  }

  /** Asks every thread to stop; those still running after the grace are terminated. */
  private requestStop(): void {
    if (this.stopping) return
    this.stopping = true
    this.stop.abort()
    this.clearTimers()
    this.timers.push(
      setTimeout(() => {
        this.graceOver = true
        this.terminateRunning()
      }, this.stopGraceMs),
    )
  }

  private terminateRunning(): void {
    for (const [k, run] of this.runs.entries()) {
      if (this.ended[k] !== undefined || this.terminated.has(k)) continue
      this.terminated.add(k)
      run.terminate()
    }
  }

  /** Every thread has ended: the windows left are handed on, then the result settles. */
  private finish(): void {
    this.clearTimers()
    this.options.signal?.removeEventListener('abort', this.onAbort)
    try {
      this.windows.flush()
    } catch (error) {
      this.failure ??= error instanceof Error ? error : new Error(String(error))
    }
    const error = this.outcomeError()
    if (error) return this.settle.reject(error)
    const results = this.ended.map((e) => (e as { result: LoadRunResult }).result)
    const stoppedBy = results.find((r) => r.stoppedBy !== undefined)?.stoppedBy
    this.settle.resolve({
      aborted: results.some((r) => r.aborted),
      peakConnections: results.reduce((n, r) => n + r.peakConnections, 0),
      ...(stoppedBy !== undefined ? { stoppedBy } : {}),
    })
  }

  /** The run's failure, with the threads that had to be terminated named. */
  private outcomeError(): Error | undefined {
    if (this.terminated.size === 0) return this.failure
    const terminated =
      `${this.names([...this.terminated])} ` +
      (this.graceOver ? `did not stop within ${seconds(this.stopGraceMs)} of being asked and ` : '') +
      `${this.terminated.size === 1 ? 'was' : 'were'} terminated`
    if (!this.failure) return new GauntletError('internal', terminated)
    const code = this.failure instanceof GauntletError ? this.failure.code : 'internal'
    return new GauntletError(code, `${shown(this.failure)}; ${terminated}`, { cause: this.failure })
  }

  // --- watchdogs ------------------------------------------------------------------------------

  /** The shared start: second 0 a little after the last thread is warm; threads not ready in time are stuck. */
  private startBarrier(count: number): { ready: (thread: number) => Promise<number> } {
    const waiting = new Set(Array.from({ length: count }, (_, k) => k))
    let release!: (epochMs: number) => void
    const start = new Promise<number>((resolve) => (release = resolve))
    const timer = setTimeout(() => {
      const notReady = [...waiting].filter((k) => this.ended[k] === undefined)
      if (notReady.length > 0)
        this.fail(
          new GauntletError(
            'internal',
            `${this.names(notReady)} did not get ready to start within ${seconds(readyLimitMs)}`,
          ),
        )
    }, readyLimitMs)
    this.timers.push(timer)
    return {
      ready: (thread) => {
        waiting.delete(thread)
        if (waiting.size === 0) {
          clearTimeout(timer)
          release(Date.now() + sharedStartLeadMs)
        }
        return start
      },
    }
  }

  /** A thread that lets a second go undelivered long after another thread delivered it is stuck. */
  private checkLag(limitMs: number): void {
    const owed = this.windows.oldestOwed()
    if (!owed || owed.ageMs <= limitMs) return
    const missing = owed.missing.filter((k) => this.ended[k] === undefined)
    if (missing.length === 0) return
    this.fail(
      new GauntletError(
        'internal',
        `${this.names(missing)} delivered no window for second ${owed.index} within ${seconds(limitMs)} of ` +
          `${this.names([owed.firstThread])} (stuck, or far behind)`,
      ),
    )
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** The answer, or undefined when none came within the grace. */
  private withinGrace<T>(answer: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined
    const silence = new Promise<undefined>(
      (resolve) => (timer = setTimeout(() => resolve(undefined), this.stopGraceMs)),
    )
    return Promise.race([answer, silence]).finally(() => clearTimeout(timer))
  }

  private every(ms: number, check: () => void): void {
    this.timers.push(setInterval(check, ms))
  }

  private clearTimers(): void {
    for (const timer of this.timers.splice(0)) clearTimeout(timer)
  }

  private names(threads: readonly number[]): string {
    const n = this.ended.length
    if (n === 1) return 'the load thread'
    const list = [...threads].sort((a, b) => a - b).map((k) => k + 1)
    return list.length === 1 ? `load thread ${list[0]} of ${n}` : `load threads ${list.join(', ')} of ${n}`
  }
}

/** A thread that could not be started: it failed at once. */
function notStarted(error: unknown): WorkerLoadRun {
  return {
    result: Promise.reject(error instanceof Error ? error : new Error(String(error))),
    replan: () => Promise.resolve(false),
    reconnect: () => Promise.resolve(),
    terminate: () => {},
  }
}

/** What a user may be shown of an error: ours say what happened; anything else is internal. */
function shown(error: unknown): string {
  return error instanceof GauntletError ? error.message : 'internal error in the load generator'
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)} s`
}
