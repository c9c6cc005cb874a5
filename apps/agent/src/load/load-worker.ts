/**
 * Worker-thread entry: runs one LoadGenerator on its own event loop, so nothing the parent does
 * (SQLite fsyncs, printing, HTTP serving) can delay a send and inflate the latency we measure.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { LoadGenerator, type LoadPlan } from './load-generator.js'

const port = parentPort!
const abort = new AbortController()
port.on('message', (message: { type: 'abort' }) => {
  if (message.type === 'abort') abort.abort()
})

const result = await new LoadGenerator(workerData as LoadPlan).run({
  signal: abort.signal,
  onWindow: (window) => port.postMessage({ type: 'window', window }),
})
port.postMessage({ type: 'done', result })
