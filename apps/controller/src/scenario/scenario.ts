import type { HookEvent, PlannedStep, TargetTls } from '@gauntlet/contracts'
import type { DecisionConfig } from '../decision/guard-config.js'
import type { ScheduledFault } from '@gauntlet/faults/documents'
import type { Hook } from '../hooks/hook-sender.js'
import type { Threshold } from './thresholds.js'

/** A validated scenario, in the units the engine uses (ms, rps). Built only by the scenario loader. */
export interface Scenario {
  name: string
  description?: string
  target: {
    url: string
    method: string
    headers: Record<string, string>
    body?: string
    timeoutMs: number
    /** target.expect.status as written (statuses, ranges, classes): what counts as success; absent, any 2xx. */
    expectStatus?: Array<number | string>
    /** target.expect.bodyContains */
    expectBodyContains?: string
    /** target.expect.header: response headers that must be present, with a value containing the text. */
    expectHeader?: Record<string, string>
    /** target.followRedirects (absent: false) */
    followRedirects?: boolean
    /**
     * target.tls of an https target. parseScenario keeps `ca`/`cert`/`key` as written (inline PEM or a
     * path); resolveScenarioFiles (scenario-files.ts) replaces each with PEM contents before any run.
     */
    tls?: TargetTls
  }
  /**
   * What each send makes: the weighted mix of `requests:`, or the target's one request (named
   * "default"). Templates and `${env.NAME}` references are intact: env values are read at run start and
   * go to the agents only, templates are rendered per send.
   */
  requests: RequestPlan[]
  /** The scenario has `requests:`: each request's outcomes are counted (and judged) apart. */
  perRequest: boolean
  /**
   * The requests as sent, resolved at run start (env values, body files, data sets); absent until then.
   * Never stored: it holds secrets.
   */
  inputs?: RunInputs
  /** Data sets the templates read, by name; their files are read at run start. */
  data: Record<string, { file: string; order: 'sequential' | 'random' | 'unique' }>
  /** The planned steps, in order: a step's scenario index is its position (scenarioPlan adds it). */
  steps: Array<Pick<PlannedStep, 'rps' | 'durationS'>>
  warmupS: number
  connections?: number
  maxConnections: number
  thresholds: Threshold[]
  onThresholdFail: 'stop' | 'continue'
  onAgentLoss: 'redistribute' | 'abort'
  /** Ids are unique within the scenario; a run prefixes them with its own id. */
  faults: ScheduledFault[]
  hooks: Partial<Record<HookEvent, Hook[]>>
  /** Windowed guards and step gating; absent: the per-step `thresholds` decide alone. */
  decision?: DecisionConfig
  /** The target's Prometheus endpoint, scraped through the run and `cooldownS` after the load. */
  targetMetrics?: { url: string; series: string[]; cooldownS: number }
}

/** One request of a run's mix, in engine form. */
export interface RequestPlan {
  name: string
  weight: number
  method: string
  /** Path and query, with target.url's base path in front; may hold templates. */
  path: string
  /** The target's headers with the request's own over them; values may hold templates. */
  headers: Record<string, string>
  body?: string
  /** A file whose text is the body, read at run start. */
  bodyFile?: string
  /** The statuses that count as success, as written (statuses, ranges, classes); absent, any 2xx. */
  expectStatus?: Array<number | string>
  /** The response body must contain this. */
  expectBodyContains?: string
  /** Response headers that must be present, each with a value containing the text. */
  expectHeader?: Record<string, string>
}

/** A data set as agents get it: its rows, read and checked at run start. */
export interface DataSetRows {
  columns: string[]
  rows: string[][]
  order: 'sequential' | 'random' | 'unique'
}

/** What a run sends, resolved at its start: env values in, body files read, data sets loaded. */
export interface RunInputs {
  /** The scenario's requests with `${env.NAME}` replaced and `bodyFile` read into `body`. */
  requests: RequestPlan[]
  data: Record<string, DataSetRows>
  /** The env values sent: never shown (events, logs and reports scrub them). */
  secrets: string[]
}

export const defaults = {
  timeoutMs: 10_000,
  /** A request timeout longer than this would let a silent target hold a run open for hours. */
  maxTimeoutMs: 5 * 60_000,
  warmupS: 0,
  maxConnections: 1_000,
  maxSteps: 1_000,
  maxRunS: 24 * 3600,
} as const
