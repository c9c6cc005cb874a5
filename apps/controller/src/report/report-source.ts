import { GauntletError, type RunSummary } from '@gauntlet/contracts'
import type { RunStore } from '../storage/run-store.js'
import type { ReportInput } from './run-report.js'

/** What a report needs of a store: the run, its merged windows and its target scrapes. */
export type ReportStore = Pick<RunStore, 'getRun' | 'windows' | 'targetSeries'>

/** A stored run's report input and its scenario YAML (whose credentials the report must not show). */
export interface StoredReportInput {
  input: ReportInput
  scenarioYaml: string
}

/**
 * Reads a finished run from the store. An unknown id is not_found; a run still going, or one that ended
 * without a summary (interrupted by a restart), is a conflict that says so.
 */
export function storedReportInput(store: ReportStore, runId: string): StoredReportInput {
  const run = store.getRun(runId)
  if (!run) throw new GauntletError('not_found', `no run with id "${runId}"`)
  if (run.status === 'running')
    throw new GauntletError('conflict', `run ${runId} is still running: its report is made once it ends`)
  if (!run.summary)
    throw new GauntletError(
      'conflict',
      `run ${runId} ended ${run.status} without a summary: there is nothing to report`,
    )
  return {
    input: { runId, summary: run.summary, windows: store.windows(runId), targetSeries: store.targetSeries(runId) },
    scenarioYaml: run.scenarioYaml,
  }
}

/**
 * A report from a summary file alone (`gauntlet report summary.json`): steps, decisions, faults and hooks,
 * and per-second charts only when a store that holds the run is given.
 */
export function summaryReportInput(summary: RunSummary, store?: ReportStore): ReportInput {
  const stored = store?.getRun(summary.runId)
  return {
    runId: summary.runId,
    summary,
    windows: stored ? store!.windows(summary.runId) : [],
    targetSeries: stored ? store!.targetSeries(summary.runId) : {},
  }
}
