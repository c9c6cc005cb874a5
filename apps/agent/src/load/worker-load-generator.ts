import type { WindowReport } from '@gauntlet/contracts'
import { Worker } from 'node:worker_threads'
import type { LoadPlan, LoadRunOptions, LoadRunResult } from './load-generator.js'

type WorkerMessage = { type: 'window'; window: WindowReport } | { type: 'done'; result: LoadRunResult }

/** Same contract as LoadGenerator.run, with the generator on its own thread (see load-worker.ts). */
export function runLoadInWorker(plan: LoadPlan, options: LoadRunOptions): Promise<LoadRunResult> {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: plan })
  const onAbort = (): void => worker.postMessage({ type: 'abort' })
  return new Promise<LoadRunResult>((resolve, reject) => {
    if (options.signal?.aborted) onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'window') options.onWindow(message.window)
      else resolve(message.result)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`load worker exited with code ${code} before finishing`)))
  }).finally(() => {
    options.signal?.removeEventListener('abort', onAbort)
    void worker.terminate()
  })
}
