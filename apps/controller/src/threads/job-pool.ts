import { GauntletError } from '@gauntlet/contracts'
import { Worker } from 'node:worker_threads'
import type { JobReply } from './job-thread.js'

export interface JobPoolOptions {
  /** Threads working at once. */
  threads: number
  /** Jobs that may wait for a thread; beyond it, 429 too_many. */
  queue: number
  /** A job's time budget: past it, its thread is terminated and replaced. */
  budgetMs: number
  /** Old-generation heap of each thread: a job that needs more fails alone. */
  heapMb: number
}

export interface JobPoolSpec<Job> {
  /** The built thread script (it calls serveJobs). */
  workerFile: URL
  options: JobPoolOptions
  /** The error a job gets when it took too long or too much memory (`what` says which). */
  refused: (job: Job, what: string) => GauntletError
  /** The error a job gets when the queue is full. */
  busy: string
}

interface Waiting<Job> {
  job: Job
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Heavy work of the controller's request paths on worker threads, so a costly job stalls a thread and
 * never the event loop (/healthz, agents' heartbeats). At most `threads` jobs run at once, at most `queue`
 * wait, each within its time and memory budget; a thread that failed or ran over is replaced.
 */
export class JobPool<Job extends object> {
  private readonly all = new Set<Worker>()
  private readonly idle: Worker[] = []
  /** Settles once a thread has loaded its modules (its first message). */
  private readonly loaded = new WeakMap<Worker, Promise<void>>()
  private busy = 0
  private readonly waiting: Array<Waiting<Job>> = []
  private nextId = 0
  private closed = false

  constructor(private readonly spec: JobPoolSpec<Job>) {}

  /** The job's value, or its GauntletError re-thrown (anything else is an internal error). */
  run(job: Job): Promise<unknown> {
    if (this.closed) return Promise.reject(new GauntletError('internal', 'the controller is stopping'))
    const { threads, queue } = this.spec.options
    if (this.busy >= threads && this.waiting.length >= queue)
      return Promise.reject(new GauntletError('too_many', this.spec.busy))
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject })
      this.pump()
    })
  }

  /** Ends every thread; jobs still queued or running fail. */
  async close(): Promise<void> {
    this.closed = true
    for (const { reject } of this.waiting.splice(0)) reject(new GauntletError('internal', 'the controller is stopping'))
    await Promise.all([...this.all].map((worker) => worker.terminate()))
  }

  private pump(): void {
    while (!this.closed && this.busy < this.spec.options.threads && this.waiting.length > 0) {
      const next = this.waiting.shift()!
      this.busy++
      const worker = this.idle.pop() ?? this.spawn()
      // The budget is the job's own: it starts once the thread can work (a load that fails ends in 'exit').
      this.loaded.get(worker)!.then(
        () => this.execute(worker, next),
        (error: unknown) => {
          this.busy--
          next.reject(error)
          this.pump()
        },
      )
    }
  }

  private spawn(): Worker {
    // execArgv: [] - a parent's flags (a test runner's --conditions) must not change how it resolves modules.
    const worker = new Worker(this.spec.workerFile, {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.spec.options.heapMb },
    })
    this.loaded.set(
      worker,
      new Promise((resolve, reject) => {
        worker.once('message', () => resolve())
        worker.once('exit', () => reject(new GauntletError('internal', 'internal error')))
      }),
    )
    // Idle threads must not keep a stopping process alive.
    worker.unref()
    this.all.add(worker)
    // An idle thread that fails is dropped (its 'error' must have a listener, or it would end the process).
    worker.on('error', () => undefined)
    worker.once('exit', () => {
      this.all.delete(worker)
      const at = this.idle.indexOf(worker)
      if (at >= 0) this.idle.splice(at, 1)
    })
    return worker
  }

  private execute(worker: Worker, { job, resolve, reject }: Waiting<Job>): void {
    const id = this.nextId++
    const finish = (reusable: boolean): void => {
      clearTimeout(timer)
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
      this.busy--
      if (reusable && !this.closed) this.idle.push(worker)
      else void worker.terminate()
      this.pump()
    }
    const onMessage = (reply: JobReply): void => {
      if (reply.id !== id) return
      finish(true)
      if (reply.ok) resolve(reply.value)
      else
        reject(
          reply.error
            ? new GauntletError(reply.error.code, reply.error.message, {
                problems: reply.error.problems,
                ...(reply.error.source !== undefined ? { source: reply.error.source } : {}),
              })
            : new GauntletError('internal', 'internal error'),
        )
    }
    const onError = (error: Error & { code?: string }): void => {
      finish(false)
      reject(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? this.spec.refused(job, 'needed too much memory')
          : new GauntletError('internal', 'internal error', { cause: error }),
      )
    }
    const onExit = (): void => {
      finish(false)
      reject(new GauntletError('internal', this.closed ? 'the controller is stopping' : 'internal error'))
    }
    const timer = setTimeout(() => {
      // terminate() stops a thread even in the middle of its work; the next job gets a fresh one.
      finish(false)
      reject(this.spec.refused(job, `took longer than ${this.spec.options.budgetMs / 1000}s`))
    }, this.spec.options.budgetMs)
    worker.on('message', onMessage)
    worker.once('error', onError)
    worker.once('exit', onExit)
    worker.postMessage({ id, ...job })
  }
}
