import type { Decision, FireOutcome, RunStatus, RunSummary, Schedule, WindowReport } from '@gauntlet/contracts'

export type { RunStatus }

export interface RunFilter {
  status?: RunStatus
  scenario?: string
  limit: number
}

/** The runs a list shows, newest first (createdAt, then id), a page at a time. */
export interface RunListFilter {
  status?: RunStatus
  /** The summary's verdict (pass, fail, error): runs without a summary never match. */
  verdict?: string
  scenario?: string
  /** createdAt at or after this (ISO 8601, UTC, as stored). */
  since?: string
  /** createdAt before this (ISO 8601, UTC, as stored). */
  until?: string
  /** Keyset paging: only runs that sort after this one (older, or as old with a smaller id). */
  after?: { createdAt: string; id: string }
  limit: number
}

/** A run as a list shows it: its row and a few numbers read out of its summary (never the whole summary). */
export interface RunListRow {
  id: string
  scenario: string
  target: string
  status: RunStatus
  createdAt: string
  finishedAt: string | null
  verdict: string | null
  capacityRps: number | null
  /** The summary's own start and end, when it has one. */
  summaryStartedAt: string | null
  summaryFinishedAt: string | null
  /** Faults of the summary that were applied. */
  faults: number
  /** The step with the worst verdict (fail, generator-limited, aborted, then pass), the highest p99 among equals. */
  worstStep: { index: number; verdict: string; p99Ms: number | null } | null
  /** Each step's p99 in ms, in step order. */
  p99ByStep: Array<number | null>
}

export interface NewRun {
  id: string
  scenario: string
  scenarioYaml: string
  target: string
  createdAt: string
}

export interface StoredRun extends NewRun {
  status: RunStatus
  finishedAt: string | null
  summary: RunSummary | null
}

export interface WindowPageQuery {
  /** First window index of the page. */
  from: number
  limit: number
  /** One remote agent's own windows instead of the merged ones. */
  agent?: string
  /** Also read each merged window's per-request percentiles (a mix's; see WindowPage). */
  requests?: boolean
}

export interface WindowPage {
  /** Each window's stored JSON and its latency percentiles' JSON (LatencySummaryMs), ready to send unparsed. */
  windowsJson: Array<{ report: string; latencyMs: string; requestsLatencyMs?: string | null }>
  /** Index of the first window of the next page; null on the last page. */
  next: number | null
}

/** One agent report's windows, with the percentiles of each (JSON, as the windows route sends them) when known. */
export interface AgentWindowsReport {
  runId: string
  agent: string
  windows: readonly WindowReport[]
  /** Per window, in the same order; computed once at ingest, from the histogram the report check decoded. */
  latencyMs?: ReadonlyArray<string | undefined>
}

/** Where runs, their per-second windows and their decisions are kept (a run's steps are in its summary). */
export interface RunStore {
  createRun(run: NewRun): void
  /** Idempotent: storing the same window twice keeps one copy. */
  saveWindow(runId: string, window: WindowReport): void
  /**
   * Agents' own windows, stored before they are acknowledged, several reports in one transaction (one
   * fsync). A repeated (agent, index) keeps the first.
   */
  saveAgentWindows(reports: readonly AgentWindowsReport[]): void
  agentWindows(runId: string, agent: string): WindowReport[]
  /** One agent's stored window for run second `index`, if any. */
  agentWindow(runId: string, agent: string, index: number): WindowReport | undefined
  /** Many windows in one transaction (an import, or seeding a test). */
  saveWindows(runId: string, windows: readonly WindowReport[]): void
  /**
   * A page of merged windows (or one agent's), from index `from`, with their latency percentiles as stored: no
   * histogram is decoded.
   */
  windowPage(runId: string, query: WindowPageQuery): WindowPage
  /** The latency percentiles' JSON stored with merged window `index` (LatencySummaryMs), if it is stored. */
  windowLatency(runId: string, index: number): string | undefined
  /** Appends a decision; `decisions` returns them in the order they were taken. */
  saveDecision(runId: string, decision: Decision): void
  decisions(runId: string): Decision[]
  /** Every scrape of the target's series, in one transaction. */
  saveTargetSeries(runId: string, series: ReadonlyMap<string, ReadonlyArray<{ atS: number; value: number }>>): void
  targetSeries(runId: string): Record<string, Array<{ atS: number; value: number }>>
  finishRun(runId: string, status: RunStatus, summary: RunSummary): void
  getRun(runId: string): StoredRun | undefined
  listRuns(filter: RunFilter): StoredRun[]
  /** A page of the run list: filtered, newest first, computed without reading any summary whole. */
  runList(filter: RunListFilter): RunListRow[]
  /** At start-up: runs left `running` by a previous process did not finish; their windows stay. */
  interruptRunning(): number
  countRunsByStatus(): Partial<Record<RunStatus, number>>
  windows(runId: string): WindowReport[]
  close(): void
}

export interface StoredScenario {
  name: string
  yaml: string
  updatedAt: string
}

/** Named scenarios (validated before they get here). */
export interface ScenarioStore {
  putScenario(scenario: StoredScenario): void
  getScenario(name: string): StoredScenario | undefined
  listScenarios(): StoredScenario[]
  deleteScenario(name: string): boolean
}

export interface ScheduleFire {
  scheduleId: string
  scheduledAt: string
  handledAt: string
  outcome: FireOutcome
  runId: string | null
  detail: string | null
}

/** Schedules and what became of each of their fire times. */
export interface ScheduleStore {
  putSchedule(schedule: Schedule): void
  getSchedule(id: string): Schedule | undefined
  listSchedules(): Schedule[]
  deleteSchedule(id: string): boolean
  /** Records a fire and moves the schedule's lastScheduledAt, in one transaction. */
  recordFire(fire: ScheduleFire): void
  scheduleHistory(id: string, limit: number): ScheduleFire[]
}

export interface StoredAgent {
  name: string
  url: string
  capacityRps: number
  version: string
  state: string
  registeredAt: string
  lastHeartbeatAt: string
}

/** Agents as last seen: written when one registers or changes state, not on every heartbeat. */
export interface AgentStore {
  saveAgent(agent: StoredAgent): void
  listAgents(): StoredAgent[]
  /** An agent lost for longer than the expiry is forgotten. */
  forgetAgent(name: string): void
}
