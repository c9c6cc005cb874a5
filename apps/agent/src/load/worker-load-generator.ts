import type { WindowReport } from '@gauntlet/contracts'
import { Worker } from 'node:worker_threads'
import type { LoadPlan, LoadRunOptions, LoadRunResult } from './load-generator.js'
import { assertHostAllowed, targetAllowListFromEnv, type TargetAllowList } from '../safety/target-allow-list.js'

type WorkerMessage = { type: 'window'; window: WindowReport } | { type: 'done'; result: LoadRunResult }

/**
 * Same contract as LoadGenerator.run, with the generator on its own thread (see load-worker.ts).
 * Refuses targets outside GAUNTLET_TARGET_ALLOW whoever the caller is.
 */
export async function runLoadInWorker(plan: LoadPlan, options: LoadRunOptions, allow: TargetAllowList = targetAllowListFromEnv()): Promise<LoadRunResult> {
  assertHostAllowed(plan.target.hostname, allow)
  // execArgv: [] - the worker runs the built JavaScript as is; a parent's flags (a test runner's
  // --conditions, say) must not change how it resolves its modules.
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: plan, execArgv: [] })
  const onAbort = (): void => worker.postMessage({ type: 'abort' })
  return await new Promise<LoadRunResult>((resolve, reject) => {
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let failed = false
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'done') return resolve(message.result)
      if (failed) return
      try {
        options.onWindow(message.window)
      } catch (error) {
        // The consumer failed (storage, say): stop the load and report it, rather than crash the process.
        failed = true
        onAbort()
        reject(error)
      }
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`load worker exited with code ${code} before finishing`)))
  }).finally(() => {
    options.signal?.removeEventListener('abort', onAbort)
    void worker.terminate()
  })
}
