import { addErrorCounts, emptyErrorCounts, totalErrors, type StepSummary, type ThresholdResult, type WindowReport } from '@gauntlet/contracts'
import { mergeEncoded, summarizeLatency, type Histogram, type LatencySummaryMs } from '@gauntlet/metrics'
import { exactEvidence, quantileEvidence, rateEvidence, type Evidence } from '../decision/evidence.js'
import { compare, type Threshold } from '../scenario/thresholds.js'

export interface StepSpec {
  index: number
  rps: number
  startS: number
  durationS: number
  warmupS: number
}

/** The measured statistics of a step after its warmup, before thresholds are applied. */
export interface StepStats {
  planned: number
  sent: number
  completed: number
  errors: number
  errorRate: number | null
  achievedRps: number
  latency: LatencySummaryMs
  /** The merged histogram of the judged windows (µs), for confidence intervals. */
  histogram: Histogram
  generatorLimited: boolean
  degraded: boolean
  errorsByClass: ReturnType<typeof emptyErrorCounts>
  /** Judged windows received, and whether every one of them saw all its requests through. */
  windows: number
  complete: boolean
}

/** Windows of the step that count: those after its warmup. Percentiles come from the merged histogram. */
export function stepStats(spec: StepSpec, windows: readonly WindowReport[]): StepStats {
  const judged = windows.filter((w) => w.step === spec.index && w.index >= spec.startS + spec.warmupS)
  const errorsByClass = emptyErrorCounts()
  let planned = 0
  let sent = 0
  let sentThisSecond = 0
  let ok = 0
  for (const w of judged) {
    planned += w.planned
    sent += w.dispatched
    sentThisSecond += w.sent
    ok += w.ok
    addErrorCounts(errorsByClass, w.errors)
  }
  const errors = totalErrors(errorsByClass)
  const completed = ok + errors
  const expectedWindows = spec.durationS - spec.warmupS
  const histogram = mergeEncoded(judged.map((w) => w.latency))
  return {
    planned,
    sent,
    completed,
    errors,
    errorRate: completed > 0 ? errors / completed : null,
    achievedRps: judged.length > 0 ? sentThisSecond / judged.length : 0,
    latency: summarizeLatency(histogram),
    histogram,
    generatorLimited: judged.some((w) => w.generatorLimited),
    degraded: judged.some((w) => (w.missingAgents?.length ?? 0) > 0),
    errorsByClass,
    windows: judged.length,
    complete: judged.length === expectedWindows && judged.every((w) => w.complete),
  }
}

export function observe(threshold: Threshold, stats: StepStats): number | null {
  switch (threshold.metric) {
    case 'error_rate':
      return stats.errorRate
    case 'rps':
      return stats.windows > 0 ? stats.achievedRps : null
    case 'max':
      return stats.latency.maxMs
    default:
      return stats.latency[`${threshold.metric}Ms`]
  }
}

/** A threshold with nothing to observe fails: missing data is never evidence of health. */
export function evaluateThresholds(thresholds: readonly Threshold[], stats: StepStats): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const observed = observe(threshold, stats)
    const { n, lower, upper, confidence } = evidence(threshold, stats)
    return {
      threshold: threshold.source,
      metric: threshold.metric,
      observed,
      limit: threshold.limit,
      pass: observed !== null && compare(observed, threshold.operator, threshold.limit),
      evidence: { n, lower, upper, confidence },
    }
  })
}

const quantiles: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 }

/** How sure the step's data makes the threshold's outcome (95% bounds; see decision/intervals.ts). */
export function evidence(threshold: Threshold, stats: StepStats): Evidence {
  switch (threshold.metric) {
    case 'error_rate':
      return rateEvidence(threshold, stats.errors, stats.completed)
    case 'rps':
      return exactEvidence(threshold, stats.windows > 0 ? stats.achievedRps : null, stats.windows)
    case 'max':
      return exactEvidence(threshold, stats.latency.maxMs, stats.latency.count)
    default:
      return quantileEvidence(threshold, stats.histogram, quantiles[threshold.metric]!)
  }
}

export function judgeStep(spec: StepSpec, windows: readonly WindowReport[], thresholds: readonly Threshold[]): StepSummary {
  const stats = stepStats(spec, windows)
  const results = evaluateThresholds(thresholds, stats)
  const verdict = !stats.complete ? 'aborted' : results.every((r) => r.pass) ? 'pass' : 'fail'
  return {
    index: spec.index,
    plannedRps: spec.rps,
    achievedRps: round(stats.achievedRps, 2),
    durationS: spec.durationS,
    warmupS: spec.warmupS,
    planned: stats.planned,
    sent: stats.sent,
    completed: stats.completed,
    errors: stats.errors,
    errorRate: stats.errorRate === null ? 0 : round(stats.errorRate, 6),
    errorsByClass: stats.errorsByClass,
    p50Ms: stats.latency.p50Ms,
    p90Ms: stats.latency.p90Ms,
    p99Ms: stats.latency.p99Ms,
    maxMs: stats.latency.maxMs,
    generatorLimited: stats.generatorLimited,
    ...(stats.degraded ? { degraded: true } : {}),
    verdict,
    thresholds: results,
  }
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
