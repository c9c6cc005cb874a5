import type { LoadPlan, LoadRunOptions, LoadRunResult } from './load-generator.js'
import { threadPlans } from './thread-plans.js'
import { ThreadWindows } from './thread-windows.js'
import { startLoadInWorker, type WorkerLoadRun } from './worker-load-generator.js'
import { targetAllowListFromEnv, type TargetAllowList } from '../safety/target-allow-list.js'

/** How far after the last thread is warm the shared second 0 is set, so the start reaches every thread in time. */
const sharedStartLeadMs = 50

/**
 * A replan is refused here this long before the second it changes: well before each thread's own 20 ms
 * margin, so the threads all take it or (stopped, say) all refuse it.
 */
const replanLeadMs = 100

/**
 * The agent's load on `workers` threads (see threadPlans), seen from outside as one generator: the same
 * contract as startLoadInWorker, with one merged window per second, in order. Without a planned start
 * the threads warm their connections, then start together. When one thread stops the load early
 * (aborted, a unique data set ran out) the others are stopped too; when one fails, the run fails with
 * its error and the others are stopped.
 */
export function startLoadInWorkers(
  plan: LoadPlan,
  options: LoadRunOptions,
  workers: number,
  allow: TargetAllowList = targetAllowListFromEnv(),
): WorkerLoadRun {
  const plans = threadPlans(plan, workers)
  if (plans.length === 1) return startLoadInWorker(plan, options, allow)

  const stop = new AbortController()
  const windows = new ThreadWindows(plans.length, options.onWindow)
  const sharedStart = plan.startAtEpochMs === undefined ? startBarrier(plans.length) : undefined
  let started = false
  let startEpochMs: number | undefined
  const runs = plans.map((threadPlan, k) =>
    startLoadInWorker(
      threadPlan,
      {
        signal: stop.signal,
        onWindow: (window) => windows.add(k, window),
        onStart: (epochMs) => {
          if (started) return
          started = true
          startEpochMs = epochMs
          options.onStart?.(epochMs)
        },
        ...(sharedStart ? { sharedStart } : {}),
      },
      allow,
    ),
  )
  const onAbort = (): void => stop.abort()
  if (options.signal?.aborted) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const result = settleAll(runs, stop).finally(() => {
    options.signal?.removeEventListener('abort', onAbort)
    windows.flush()
  })
  return {
    result,
    // Every thread gets the same tail; the plan changed only if every one took it. Threads that disagree
    // would send lanes of two plans (and the controller would count a share as not carried that is): the
    // load stops instead, and the run sees this agent's load end.
    replan: async (fromS, tail) => {
      if (startEpochMs !== undefined && Date.now() > startEpochMs + fromS * 1000 - replanLeadMs) return false
      const answers = await Promise.all(runs.map((run) => run.replan(fromS, tail)))
      if (answers.every(Boolean)) return true
      if (answers.some(Boolean)) stop.abort()
      return false
    },
    reconnect: async () => {
      await Promise.all(runs.map((run) => run.reconnect()))
    },
  }
}

/** A start that resolves once all `count` threads asked for it: second 0 a little after the last is warm. */
function startBarrier(count: number): () => Promise<number> {
  let waiting = count
  let release!: (epochMs: number) => void
  const start = new Promise<number>((resolve) => (release = resolve))
  return () => {
    if (--waiting === 0) release(Date.now() + sharedStartLeadMs)
    return start
  }
}

/** The threads' results as one; the first thread to stop early or fail stops the others. */
async function settleAll(runs: readonly WorkerLoadRun[], stop: AbortController): Promise<LoadRunResult> {
  const results = await Promise.all(
    runs.map((run) =>
      run.result.then(
        (result) => {
          if (result.aborted) stop.abort()
          return result
        },
        (error: unknown) => {
          stop.abort()
          throw error
        },
      ),
    ),
  )
  const stoppedBy = results.find((r) => r.stoppedBy !== undefined)?.stoppedBy
  return {
    aborted: results.some((r) => r.aborted),
    peakConnections: results.reduce((n, r) => n + r.peakConnections, 0),
    ...(stoppedBy !== undefined ? { stoppedBy } : {}),
  }
}
