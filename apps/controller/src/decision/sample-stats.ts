import { addErrorCounts, emptyErrorCounts, totalErrors, type WindowReport } from '@gauntlet/contracts'
import { mergeEncoded, summarizeLatency, type Histogram, type LatencySummaryMs } from '@gauntlet/metrics'

/** What a run of 1 s buckets measured, pooled: the input of every threshold and guard. */
export interface SampleStats {
  planned: number
  /** Requests dispatched (sent, whatever happened to them). */
  sent: number
  /** Requests with an outcome: answered (any status) or failed at transport level. */
  completed: number
  ok: number
  errors: number
  errorRate: number | null
  /** Mean sends per second over the buckets. */
  achievedRps: number
  latency: LatencySummaryMs
  /** The merged histogram (µs), for confidence intervals. */
  histogram: Histogram
  generatorLimited: boolean
  /** Some bucket lacks the share of a lost agent. */
  degraded: boolean
  errorsByClass: ReturnType<typeof emptyErrorCounts>
  buckets: number
}

/** Pools the buckets: counts add up, histograms merge (percentiles are never averaged). */
export function sampleStats(buckets: readonly WindowReport[]): SampleStats {
  const errorsByClass = emptyErrorCounts()
  let planned = 0
  let sent = 0
  let sentThisSecond = 0
  let ok = 0
  for (const w of buckets) {
    planned += w.planned
    sent += w.dispatched
    sentThisSecond += w.sent
    ok += w.ok
    addErrorCounts(errorsByClass, w.errors)
  }
  const errors = totalErrors(errorsByClass)
  const completed = ok + errors
  const histogram = mergeEncoded(buckets.map((w) => w.latency))
  return {
    planned,
    sent,
    completed,
    ok,
    errors,
    errorRate: completed > 0 ? errors / completed : null,
    achievedRps: buckets.length > 0 ? sentThisSecond / buckets.length : 0,
    latency: summarizeLatency(histogram),
    histogram,
    generatorLimited: buckets.some((w) => w.generatorLimited),
    degraded: buckets.some((w) => (w.missingAgents?.length ?? 0) > 0),
    errorsByClass,
    buckets: buckets.length,
  }
}
