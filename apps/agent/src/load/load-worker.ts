/**
 * Worker-thread entry: runs one LoadGenerator on its own event loop, so nothing the parent does
 * (SQLite fsyncs, printing, HTTP serving) can delay a send and inflate the latency we measure.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { LoadGenerator, type LoadPlan } from './load-generator.js'
import type { PlannedStep } from '@gauntlet/contracts'

export type ToWorker =
  | { type: 'abort' }
  | { type: 'reconnect'; id: number }
  | { type: 'replan'; id: number; fromS: number; tail: PlannedStep[] }

const port = parentPort!
const abort = new AbortController()
const generator = new LoadGenerator(workerData as LoadPlan)
port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') abort.abort()
  else if (message.type === 'reconnect')
    void generator.reconnectAll().then(() => port.postMessage({ type: 'reconnected', id: message.id }))
  else port.postMessage({ type: 'replanned', id: message.id, accepted: generator.replan(message.fromS, message.tail) })
})

const result = await generator.run({
  signal: abort.signal,
  onWindow: (window) => port.postMessage({ type: 'window', window }),
  onStart: (epochMs) => port.postMessage({ type: 'started', epochMs }),
})
port.postMessage({ type: 'done', result })
