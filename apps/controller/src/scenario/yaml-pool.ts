import { GauntletError, type Problem } from '@gauntlet/contracts'
import { createHash } from 'node:crypto'
import { redacted } from '../security/redact.js'
import { JobPool } from '../threads/job-pool.js'
import type { Scenario } from './scenario.js'
import type { DataFileParse, DataFormat } from './data-file.js'
import type { YamlJob } from './yaml-worker.js'

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

type Outcome = { ok: true; value: unknown } | { ok: false; error: GauntletError }

export class YamlPool {
  private readonly settings: Required<YamlPoolOptions>
  private readonly pool: JobPool<YamlJob>
  /** Insertion order is recency: a hit is moved to the end, the first entry is the one evicted. */
  private readonly memo = new Map<string, Outcome>()
  /** One task per text however many readers ask for it at once. */
  private readonly pending = new Map<string, Promise<unknown>>()

  constructor(options: YamlPoolOptions = {}) {
    this.settings = { ...yamlPoolDefaults, ...options }
    this.pool = new JobPool({
      workerFile,
      options: this.settings,
      refused,
      busy: 'too many scenarios are being read at once; retry in a few seconds',
    })
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

  /** parseDataFile on a thread (a data set of a run a controller starts). */
  parseData(text: string, format: DataFormat): Promise<DataFileParse> {
    return this.run({ task: 'data', text, format }) as Promise<DataFileParse>
  }

  /** Ends every thread; tasks still queued or running fail. */
  close(): Promise<void> {
    return this.pool.close()
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
    return this.pool.run(job)
  }
}

/** The text, not the controller, is at fault: 400 invalid_scenario, with how to get past it. */
function refused(job: YamlJob, what: string): GauntletError {
  if (job.task === 'data') {
    const message = `a data file took ${what} to parse`
    return new GauntletError('invalid_scenario', `scenario: ${message}`, { problems: [{ path: '', message }] })
  }
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
