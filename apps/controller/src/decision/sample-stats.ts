import { addErrorCounts, emptyErrorCounts, totalErrors, type WindowReport } from '@gauntlet/contracts'
import { mergeEncoded, summarizeLatency, type Histogram, type LatencySummaryMs } from '@gauntlet/metrics'

/** What a run of 1 s windows measured, pooled: the input of every threshold and guard. */
export interface SampleStats {
  planned: number
  /** Requests dispatched (sent, whatever happened to them). */
  sent: number
  /** Requests with an outcome: answered (any status) or failed at transport level. */
  completed: number
  ok: number
  errors: number
  errorRate: number | null
  /**
   * Sends per wall-clock second: each window's `sent` is what left during its second, so this is the
   * sends divided by the seconds they actually took (not the intended sends over the planned seconds).
   */
  achievedRps: number
  latency: LatencySummaryMs
  /** The merged histogram (µs), for confidence intervals. */
  histogram: Histogram
  generatorLimited: boolean
  /** Some window lacks the share of a lost agent. */
  degraded: boolean
  errorsByClass: ReturnType<typeof emptyErrorCounts>
  /** How many 1 s windows were pooled. */
  windows: number
}

/** Pools the windows: counts add up, histograms merge (percentiles are never averaged). */
export function sampleStats(windows: readonly WindowReport[]): SampleStats {
  const errorsByClass = emptyErrorCounts()
  let planned = 0
  let sent = 0
  let sentThisSecond = 0
  let ok = 0
  for (const w of windows) {
    planned += w.planned
    sent += w.dispatched
    sentThisSecond += w.sent
    ok += w.ok
    addErrorCounts(errorsByClass, w.errors)
  }
  const errors = totalErrors(errorsByClass)
  const completed = ok + errors
  const histogram = mergeEncoded(windows.map((w) => w.latency))
  return {
    planned,
    sent,
    completed,
    ok,
    errors,
    errorRate: completed > 0 ? errors / completed : null,
    achievedRps: windows.length > 0 ? sentThisSecond / windows.length : 0,
    latency: summarizeLatency(histogram),
    histogram,
    generatorLimited: windows.some((w) => w.generatorLimited),
    degraded: windows.some((w) => (w.missingAgents?.length ?? 0) > 0),
    errorsByClass,
    windows: windows.length,
  }
}
