import type { StepSummary, ThresholdResult, WindowReport } from '@gauntlet/contracts'
import { evidence } from '../decision/evidence.js'
import { sampleStats, type SampleStats } from '../decision/sample-stats.js'
import { compare, type Threshold } from '../scenario/thresholds.js'

export interface StepSpec {
  index: number
  rps: number
  startS: number
  durationS: number
  warmupS: number
}

/** A step's pooled statistics after its warmup, and whether every judged second saw all its requests through. */
export interface StepStats extends SampleStats {
  windows: number
  complete: boolean
}

/** Windows of the step that count: those after its warmup. Percentiles come from the merged histogram. */
export function stepStats(spec: StepSpec, windows: readonly WindowReport[]): StepStats {
  const judged = windows.filter((w) => w.step === spec.index && w.index >= spec.startS + spec.warmupS)
  const expectedWindows = spec.durationS - spec.warmupS
  return {
    ...sampleStats(judged),
    windows: judged.length,
    complete: judged.length === expectedWindows && judged.every((w) => w.complete),
  }
}

/** A threshold with nothing to observe fails: missing data is never evidence of health. */
export function evaluateThresholds(thresholds: readonly Threshold[], stats: SampleStats): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const { n, estimate: observed, lower, upper, confidence } = evidence(threshold, stats)
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

export function judgeStep(
  spec: StepSpec,
  windows: readonly WindowReport[],
  thresholds: readonly Threshold[],
): StepSummary {
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
