import type { WindowReport } from '@gauntlet/contracts'
import { SparseHistogram, type LatencyCounts, type SparseParts } from '@gauntlet/metrics'
import type { AgentWindowsReport, RunStore } from '../storage/run-store.js'
import { requestOutsideMix, windowProblems } from './report-check.js'

/** One report's windows: checked each on its own and, when `store`, stored if every one passes. */
export interface IntakeRequest {
  runId: string
  agent: string
  windows: readonly WindowReport[]
  /** The mix's request names when each is counted apart: a window naming another is not decoded. */
  requestNames?: readonly string[]
  /** The run's own checks (runProblems) passed: the windows are stored if theirs pass too. */
  store: boolean
}

/** What the intake of one report found, as plain data (it crosses from the intake thread). */
export interface IntakeReply {
  /** windowProblems of each window ([] for a window naming a request outside the mix: it is not decoded). */
  own: string[][]
  /** Each window's latency as decoded, sparse; null when it did not check out or has another shape. */
  latency: Array<SparseParts | null>
  /** Its windows are stored (committed). */
  stored: boolean
}

/**
 * A batch of reports: each window checked on its own (counters, histogram decode, percentiles for the
 * agent view), then every report whose windows all passed stored in one transaction (one fsync for the
 * batch). Acknowledging a report is up to the caller, once this has returned.
 */
export function intakeBatch(store: Pick<RunStore, 'saveAgentWindows'>, batch: readonly IntakeRequest[]): IntakeReply[] {
  const replies: IntakeReply[] = []
  const toStore: AgentWindowsReport[] = []
  for (const request of batch) {
    const decoded: Array<LatencyCounts | undefined> = []
    const own = request.windows.map((window, i) =>
      requestOutsideMix(window, request.requestNames) === undefined
        ? windowProblems(window, (_window, latency) => (decoded[i] = latency))
        : [],
    )
    const stored = request.store && own.every((problems) => problems.length === 0)
    if (stored) {
      toStore.push({
        runId: request.runId,
        agent: request.agent,
        windows: request.windows,
        latencyMs: request.windows.map((_, i) => JSON.stringify(decoded[i]!.summarize())),
      })
    }
    replies.push({
      own,
      latency: request.windows.map((_, i) => {
        const latency = decoded[i]
        return latency instanceof SparseHistogram ? latency.toParts() : null
      }),
      stored,
    })
  }
  if (toStore.length > 0) store.saveAgentWindows(toStore)
  return replies
}
