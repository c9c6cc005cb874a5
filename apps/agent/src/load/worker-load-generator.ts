import type { PlannedStep, WindowReport } from '@gauntlet/contracts'
import { Worker } from 'node:worker_threads'
import type { LoadPlan, LoadRunOptions, LoadRunResult } from './load-generator.js'
import type { ToWorker, WorkerInput } from './load-worker.js'
import { assertHostAllowed, targetAllowListFromEnv, type TargetAllowList } from '../safety/target-allow-list.js'

type FromWorker =
  | { type: 'window'; window: WindowReport }
  | { type: 'replanned'; id: number; accepted: boolean }
  | { type: 'reconnected'; id: number }
  | { type: 'started'; epochMs: number }
  | { type: 'ready' }
  | { type: 'done'; result: LoadRunResult }

/** A generator running on its own thread: its outcome, and a way to change its plan while it runs. */
export interface WorkerLoadRun {
  result: Promise<LoadRunResult>
  /** See LoadGenerator.replan; resolves false when refused or when the run has ended. */
  replan(fromS: number, tail: PlannedStep[]): Promise<boolean>
  /** See LoadGenerator.reconnectAll; resolves at once when the run has ended. */
  reconnect(): Promise<void>
  /** Ends the thread at once, whatever it is doing (it did not answer a stop); `result` then rejects. */
  terminate(): void
}

/**
 * Same contract as LoadGenerator.run, with the generator on its own thread (see load-worker.ts).
 * Refuses targets outside GAUNTLET_TARGET_ALLOW whoever the caller is.
 */
export function startLoadInWorker(
  plan: LoadPlan,
  options: LoadRunOptions,
  allow: TargetAllowList = targetAllowListFromEnv(),
): WorkerLoadRun {
  assertHostAllowed(plan.target.hostname, allow)
  // execArgv: [] - the worker runs the built JavaScript as is; a parent's flags (a test runner's
  // --conditions, say) must not change how it resolves its modules.
  const input: WorkerInput = { plan, sharedStart: options.sharedStart !== undefined }
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: input, execArgv: [] })
  const send = (message: ToWorker): void => worker.postMessage(message)
  const onAbort = (): void => send({ type: 'abort' })
  const pendingReplans = new Map<number, (accepted: boolean) => void>()
  const pendingMoves = new Map<number, () => void>()
  let nextId = 0
  let ended = false

  const result = new Promise<LoadRunResult>((resolve, reject) => {
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let failed = false
    // The consumer failed (storage, say): stop the load and report it, rather than crash the process.
    const consumerFailed = (error: unknown): void => {
      failed = true
      onAbort()
      reject(error instanceof Error ? error : new Error(String(error)))
    }
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'done') return resolve(message.result)
      if (message.type === 'started') {
        try {
          options.onStart?.(message.epochMs)
        } catch (error) {
          consumerFailed(error)
        }
        return
      }
      if (message.type === 'ready') {
        options.sharedStart?.().then((epochMs) => send({ type: 'start', epochMs }), reject)
        return
      }
      if (message.type === 'replanned') {
        pendingReplans.get(message.id)?.(message.accepted)
        pendingReplans.delete(message.id)
        return
      }
      if (message.type === 'reconnected') {
        pendingMoves.get(message.id)?.()
        pendingMoves.delete(message.id)
        return
      }
      if (failed) return
      try {
        options.onWindow(message.window)
      } catch (error) {
        consumerFailed(error)
      }
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`load worker exited with code ${code} before finishing`)))
  }).finally(() => {
    ended = true
    for (const settle of pendingReplans.values()) settle(false)
    pendingReplans.clear()
    for (const settle of pendingMoves.values()) settle()
    pendingMoves.clear()
    options.signal?.removeEventListener('abort', onAbort)
    void worker.terminate()
  })

  return {
    result,
    reconnect: () => {
      if (ended) return Promise.resolve()
      const id = nextId++
      return new Promise<void>((resolve) => {
        pendingMoves.set(id, resolve)
        send({ type: 'reconnect', id })
      })
    },
    terminate: () => void worker.terminate(),
    replan: (fromS, tail) => {
      if (ended) return Promise.resolve(false)
      const id = nextId++
      return new Promise<boolean>((resolve) => {
        pendingReplans.set(id, resolve)
        send({ type: 'replan', id, fromS, tail })
      })
    },
  }
}

export function runLoadInWorker(
  plan: LoadPlan,
  options: LoadRunOptions,
  allow?: TargetAllowList,
): Promise<LoadRunResult> {
  return startLoadInWorker(plan, options, allow).result
}
