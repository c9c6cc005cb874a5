import type { HookEvent, PlannedStep } from '@gauntlet/contracts'
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
  }
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

export const defaults = {
  timeoutMs: 10_000,
  /** A request timeout longer than this would let a silent target hold a run open for hours. */
  maxTimeoutMs: 5 * 60_000,
  warmupS: 0,
  maxConnections: 1_000,
  maxSteps: 1_000,
  maxRunS: 24 * 3600,
} as const
