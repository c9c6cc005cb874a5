/**
 * Worker-thread entry: runs one LoadGenerator on its own event loop, so nothing the parent does
 * (SQLite fsyncs, printing, HTTP serving) can delay a send and inflate the latency we measure.
 */
import { writeFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { LoadGenerator, type LoadPlan } from './load-generator.js'
import type { PlannedStep } from '@gauntlet/contracts'

/** What a load thread is started with: its plan, and whether it waits for the other threads to start. */
export interface WorkerInput {
  plan: LoadPlan
  sharedStart: boolean
}

export type ToWorker =
  | { type: 'abort' }
  | { type: 'start'; epochMs: number }
  | { type: 'reconnect'; id: number }
  | { type: 'replan'; id: number; fromS: number; tail: PlannedStep[] }

const port = parentPort!
const input = workerData as WorkerInput
nameThisThread(`gauntlet-load-${input.plan.lane?.index ?? 0}`)
const abort = new AbortController()
const generator = new LoadGenerator(input.plan)
let started: ((epochMs: number) => void) | undefined
port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') abort.abort()
  else if (message.type === 'start') started?.(message.epochMs)
  else if (message.type === 'reconnect')
    void generator.reconnectAll().then(() => port.postMessage({ type: 'reconnected', id: message.id }))
  else port.postMessage({ type: 'replanned', id: message.id, accepted: generator.replan(message.fromS, message.tail) })
})

const result = await generator.run({
  signal: abort.signal,
  onWindow: (window) => port.postMessage({ type: 'window', window }),
  onStart: (epochMs) => port.postMessage({ type: 'started', epochMs }),
  ...(input.sharedStart
    ? {
        sharedStart: () =>
          new Promise<number>((resolve) => {
            started = resolve
            port.postMessage({ type: 'ready' })
          }),
      }
    : {}),
})
port.postMessage({ type: 'done', result })

/**
 * Names this OS thread (Linux: 15 characters at most), so `top -H`, `ps -L` and bench/cost.mjs tell the
 * load threads from the main thread and V8's helpers. Best effort: elsewhere there is nothing to write.
 */
function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15))
  } catch {
    // Not Linux, or /proc is not mounted: the thread keeps its name.
  }
}
