import type { RunSummary, StepSummary, WindowReport } from '@gauntlet/contracts'

export type RunStatus = 'running' | 'passed' | 'failed' | 'aborted' | 'error'

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

/** Where runs, their per-second windows and their step judgements are kept. */
export interface RunStore {
  createRun(run: NewRun): void
  /** Idempotent: storing the same window twice keeps one copy. */
  saveWindow(runId: string, window: WindowReport): void
  saveStep(runId: string, step: StepSummary): void
  finishRun(runId: string, status: RunStatus, summary: RunSummary): void
  getRun(runId: string): StoredRun | undefined
  listRuns(limit: number): StoredRun[]
  windows(runId: string): WindowReport[]
  close(): void
}
