import { GauntletError, type Problem } from '@gauntlet/contracts'
import { createHash } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { redacted } from '../security/redact.js'
import type { Scenario } from './scenario.js'
import type { YamlJob, YamlReply } from './yaml-worker.js'

/**
 * The controller's YAML work (parsing a scenario sent or stored, hiding its credentials) on worker
 * threads: a 1 MiB flow sequence or alias list costs the `yaml` package seconds, and on the main
 * thread that stalls /healthz and every agent's heartbeat. Each task has a time budget (the thread is
 * terminated and replaced past it), at most `threads` run at once, at most `queue` wait (beyond it
 * 429 too_many), and redact/secrets results are memoized by a hash of the text, so repeated reads of
 * one stored scenario or run cost one task. The CLI parses on its own thread: it is one user's process.
 */
interface YamlPoolOptions {
  threads?: number
  queue?: number
  budgetMs?: number
  memoEntries?: number
  /** Old-generation heap of each thread: a document that needs more fails alone. */
  heapMb?: number
}

const yamlPoolDefaults = { threads: 2, queue: 8, budgetMs: 5_000, memoEntries: 200, heapMb: 512 } as const

// The thread runs built JavaScript (as the agent's load worker): beside this file in dist, and when
// this file is the TypeScript source (tests import the sources), the built copy of it.
const workerFile = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/scenario/yaml-worker.js', import.meta.url)
  : new URL('./yaml-worker.js', import.meta.url)

interface Waiting {
  job: YamlJob
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: GauntletError }

export class YamlPool {
  private readonly settings: Required<YamlPoolOptions>
  private readonly all = new Set<Worker>()
  private readonly idle: Worker[] = []
  /** Settles once a thread has loaded its modules (its first message). */
  private readonly loaded = new WeakMap<Worker, Promise<void>>()
  private busy = 0
  private readonly waiting: Waiting[] = []
  /** Insertion order is recency: a hit is moved to the end, the first entry is the one evicted. */
  private readonly memo = new Map<string, Outcome>()
  /** One task per text however many readers ask for it at once. */
  private readonly pending = new Map<string, Promise<unknown>>()
  private nextId = 0
  private closed = false

  constructor(options: YamlPoolOptions = {}) {
    this.settings = { ...yamlPoolDefaults, ...options }
  }

  /** parseScenario on a thread: its Scenario, or its GauntletError (problems with line:column) re-thrown. */
  parse(yaml: string, file: string): Promise<Scenario> {
    return this.run({ task: 'parse', yaml, file }) as Promise<Scenario>
  }

  /** redactScenarioYaml on a thread; a text too slow to read is not shown at all. */
  async redact(yaml: string): Promise<string> {
    try {
      return (await this.memoized({ task: 'redact', yaml })) as string
    } catch (error) {
      if (error instanceof GauntletError && error.code === 'invalid_scenario')
        return `# ${redacted}: this stored scenario took too long to read to hide its credentials\n`
      throw error
    }
  }

  /** scenarioSecrets on a thread (a fresh array: callers may sort it). */
  async secrets(yaml: string): Promise<string[]> {
    return [...((await this.memoized({ task: 'secrets', yaml })) as string[])]
  }

  /** Each problem's line:column in the YAML, as the parser's own problems have (see assertScenarioEgress). */
  locate(yaml: string, problems: Problem[]): Promise<Problem[]> {
    return this.run({ task: 'locate', yaml, problems }) as Promise<Problem[]>
  }

  /** Ends every thread; tasks still queued or running fail. */
  async close(): Promise<void> {
    this.closed = true
    for (const { reject } of this.waiting.splice(0)) reject(new GauntletError('internal', 'the controller is stopping'))
    await Promise.all([...this.all].map((worker) => worker.terminate()))
  }

  private async memoized(job: Extract<YamlJob, { task: 'redact' | 'secrets' }>): Promise<unknown> {
    const key = `${job.task}:${createHash('sha256').update(job.yaml).digest('base64')}`
    const known = this.memo.get(key)
    if (known) {
      this.memo.delete(key)
      this.memo.set(key, known)
      if (known.ok) return known.value
      throw known.error
    }
    const running = this.pending.get(key)
    if (running) return running
    const task = this.run(job).then(
      (value) => this.remember(key, { ok: true, value }),
      (error: unknown) => {
        // A text over budget is over budget every time: remembered, so asking again costs nothing.
        // A full queue or a stopping controller is not the text's doing.
        if (error instanceof GauntletError && error.code === 'invalid_scenario')
          this.remember(key, { ok: false, error })
        throw error
      },
    )
    this.pending.set(key, task)
    try {
      return await task
    } finally {
      this.pending.delete(key)
    }
  }

  private remember(key: string, outcome: Outcome): unknown {
    this.memo.set(key, outcome)
    if (this.memo.size > this.settings.memoEntries) this.memo.delete(this.memo.keys().next().value!)
    if (outcome.ok) return outcome.value
    throw outcome.error
  }

  private run(job: YamlJob): Promise<unknown> {
    if (this.closed) return Promise.reject(new GauntletError('internal', 'the controller is stopping'))
    if (this.busy >= this.settings.threads && this.waiting.length >= this.settings.queue) {
      return Promise.reject(
        new GauntletError('too_many', 'too many scenarios are being read at once; retry in a few seconds'),
      )
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject })
      this.pump()
    })
  }

  private pump(): void {
    while (!this.closed && this.busy < this.settings.threads && this.waiting.length > 0) {
      const next = this.waiting.shift()!
      this.busy++
      const worker = this.idle.pop() ?? this.spawn()
      // The budget is the task's own: it starts once the thread can work (a load that fails ends in 'exit').
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
    const worker = new Worker(workerFile, {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.settings.heapMb },
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

  private execute(worker: Worker, { job, resolve, reject }: Waiting): void {
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
    const onMessage = (reply: YamlReply): void => {
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
          ? refused(job, 'needed too much memory')
          : new GauntletError('internal', 'internal error', { cause: error }),
      )
    }
    const onExit = (): void => {
      finish(false)
      reject(new GauntletError('internal', this.closed ? 'the controller is stopping' : 'internal error'))
    }
    const timer = setTimeout(() => {
      // terminate() stops a thread even in the middle of a parse; the next task gets a fresh one.
      finish(false)
      reject(refused(job, `took longer than ${this.settings.budgetMs / 1000}s`))
    }, this.settings.budgetMs)
    worker.on('message', onMessage)
    worker.once('error', onError)
    worker.once('exit', onExit)
    worker.postMessage({ id, ...job })
  }
}

/** The text, not the controller, is at fault: 400 invalid_scenario, with how to get past it. */
function refused(job: YamlJob, what: string): GauntletError {
  const file = job.task === 'parse' ? job.file : 'scenario'
  const message =
    `scenario ${what} to ${job.task === 'parse' ? 'parse' : 'read'}: simplify it (fewer YAML nodes, aliases and ` +
    `nesting levels)`
  return new GauntletError('invalid_scenario', `${file}: ${message}`, {
    problems: [{ path: '', message, line: 1, column: 1 }],
    source: file,
  })
}

let shared: YamlPool | undefined

/** The controller's pool, started on first use. */
export function yamlPool(): YamlPool {
  return (shared ??= new YamlPool())
}

/** Ends the controller's pool (a later use starts a new one). */
export async function closeYamlPool(): Promise<void> {
  const pool = shared
  shared = undefined
  await pool?.close()
}
