import type {
  Decision,
  DecisionVerdict,
  ObservedStep,
  RequestStats,
  ThresholdResult,
  WindowReport,
} from '@gauntlet/contracts'
import { compare, isRateMetric, type Threshold } from './condition.js'
import { clientLimitOf, clientLimitText, clientWasTheLimit } from './client-limit.js'
import { decisionRecord } from './decision-record.js'
import { thresholdEvidence, unsoundData } from './evidence.js'
import { windowsOf } from './request-view.js'
import { sampleStats } from './sample-stats.js'

/** Where a step sits on the run's live timeline (holds included) and the rate it planned. */
export interface LiveStep {
  index: number
  rps: number
  startS: number
  /** Seconds from its start to its end, holds included. */
  durationS: number
  /** Seconds at its start that thresholds do not judge. */
  warmupS: number
}

export interface StepJudgementOptions {
  /** An insufficient threshold (met by its point estimate, not by its 95% bound) fails the step. */
  strict: boolean
}

/**
 * A step judged at its end: its thresholds are a guard kind judged once, over the windows after its
 * warmup, with the same 95%-bound machinery as the decision section's guards. The verdict:
 * - fail, first, when the client was the limit yet a rate threshold failed: errors are the target's own;
 * - generator-limited: a judged second dropped sends, or more than a tenth of them sent late
 *   (clientWasTheLimit), so the client, not the target, was the limit; never a pass, whatever the
 *   thresholds say (even in a step cut short). Fewer late seconds pass with a warning;
 * - aborted: a judged second is missing or was cut short;
 * - fail: a threshold's point estimate breaks its limit (nothing measured breaks it too); in a strict
 *   run, also a threshold whose 95% bound cannot vouch for it;
 * - pass otherwise (an insufficient threshold passes with a warning unless strict).
 */
export function judgeStep(
  schedule: LiveStep,
  windows: readonly WindowReport[],
  thresholds: readonly Threshold[],
  options: StepJudgementOptions = { strict: false },
): ObservedStep {
  const judged = windows.filter((w) => w.step === schedule.index && w.index >= schedule.startS + schedule.warmupS)
  const stats = sampleStats(judged)
  // A threshold on one request of a mix measures that request's share of the same seconds.
  const byRequest = new Map<string, ReturnType<typeof sampleStats>>()
  const statsFor = (request: string | undefined): ReturnType<typeof sampleStats> => {
    if (request === undefined) return stats
    let found = byRequest.get(request)
    if (!found) byRequest.set(request, (found = sampleStats(windowsOf(judged, request))))
    return found
  }
  const complete = judged.length === schedule.durationS - schedule.warmupS && judged.every((w) => w.complete)
  const results = thresholds.map((threshold) => thresholdResult(threshold, statsFor(threshold.request)))
  const clientLimit = clientLimitOf(judged)
  const clientLimited = clientWasTheLimit(clientLimit)
  const unproven = results.filter(
    (r) => thresholdVerdict(r, { degraded: stats.degraded, clientLimited }) === 'insufficient',
  )
  // Errors are the target's answers: the client's queueing delays requests, it does not fail them. A
  // failed rate threshold stands even when the client was the limit (and the run rolls back as usual).
  const targetFailed = results.some((r, i) => !r.pass && r.observed !== null && isRateMetric(thresholds[i]!.metric))
  let verdict: ObservedStep['verdict'] = 'pass'
  let reason: string | undefined
  if (clientLimited && complete && targetFailed) verdict = 'fail'
  // Otherwise seconds the client could not send on schedule settle it, even in a step cut short.
  else if (clientLimited) {
    verdict = 'generator-limited'
    reason =
      `the load generator, not the target, was the limit: ${clientLimitText(clientLimit)} ` +
      `(${round(stats.achievedRps, 0)} of ${schedule.rps} rps sent), so its latency ` +
      `includes the client's own queueing`
  } else if (!complete) verdict = 'aborted'
  else if (results.some((r) => !r.pass)) verdict = 'fail'
  else if (options.strict && unproven.length > 0) {
    verdict = 'fail'
    reason =
      `strict: ${unproven.map((r) => `"${r.threshold}"`).join(', ')} met on the point estimate, but the data ` +
      `cannot vouch for it at 95%`
  }
  return {
    index: schedule.index,
    plannedRps: schedule.rps,
    achievedRps: round(stats.achievedRps, 2),
    durationS: schedule.durationS,
    warmupS: schedule.warmupS,
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
    ...(reason ? { reason } : {}),
    thresholds: results,
    ...requestStatsOf(judged, statsFor),
  }
}

/** Each request of a mix over the judged seconds (the names any judged window carries). */
function requestStatsOf(
  judged: readonly WindowReport[],
  statsFor: (request: string) => ReturnType<typeof sampleStats>,
): { requests?: Record<string, RequestStats> } {
  const names = new Set<string>()
  for (const w of judged) for (const name of Object.keys(w.requests ?? {})) names.add(name)
  if (names.size === 0) return {}
  const requests: Record<string, RequestStats> = {}
  for (const name of [...names].sort()) {
    const s = statsFor(name)
    requests[name] = {
      sent: s.sent,
      completed: s.completed,
      errors: s.errors,
      errorRate: s.errorRate === null ? 0 : round(s.errorRate, 6),
      errorsByClass: s.errorsByClass,
      p50Ms: s.latency.p50Ms,
      p90Ms: s.latency.p90Ms,
      p99Ms: s.latency.p99Ms,
      maxMs: s.latency.maxMs,
    }
  }
  return { requests }
}

/** A threshold with nothing to observe fails: missing data is never evidence of health. */
function thresholdResult(threshold: Threshold, stats: Parameters<typeof thresholdEvidence>[1]): ThresholdResult {
  const { n, estimate: observed, lower, upper, confidence } = thresholdEvidence(threshold, stats)
  return {
    threshold: threshold.source,
    metric: threshold.metric,
    observed,
    limit: threshold.limit,
    pass: observed !== null && compare(observed, threshold.operator, threshold.limit),
    evidence: { n, lower, upper, confidence },
  }
}

/**
 * A threshold in the one vocabulary: fail when its point estimate breaks the limit, pass when its 95%
 * bound meets it on sound data, insufficient otherwise (nothing measured, too few samples, or data a
 * lost agent or the load generator left short).
 */
function thresholdVerdict(
  result: ThresholdResult,
  step: { degraded?: boolean; clientLimited: boolean },
): DecisionVerdict {
  if (result.observed === null) return 'insufficient'
  if (!result.pass) return 'fail'
  if (unsoundData({ degraded: step.degraded ?? false, generatorLimited: step.clientLimited })) return 'insufficient'
  return result.evidence?.confidence === 'pass' ? 'pass' : 'insufficient'
}

/**
 * The decisions a judged step leads to: one per threshold, with its evidence, and the action the run
 * takes: advance when the step passed; otherwise stop, or continue past it when the scenario says
 * onThresholdFail: continue. A step cut short decides nothing.
 */
export function thresholdDecisions(
  schedule: LiveStep,
  step: ObservedStep,
  onThresholdFail: 'stop' | 'continue',
  at: Date,
): Decision[] {
  if (step.verdict === 'aborted') return []
  const action = step.verdict === 'pass' ? 'advance' : onThresholdFail
  // The step's verdict already weighed its generator-limited seconds (clientWasTheLimit); a step that
  // failed on the target's errors may still have had them, and then nothing else in it can pass.
  const clientLimited = step.verdict === 'generator-limited' || (step.verdict === 'fail' && step.generatorLimited)
  const unsound = unsoundData({ degraded: step.degraded ?? false, generatorLimited: clientLimited })
  return step.thresholds.map((result) => {
    const verdict = thresholdVerdict(result, { degraded: step.degraded ?? false, clientLimited })
    return decisionRecord({
      at,
      step: step.index,
      source: 'threshold',
      guard: result.threshold,
      condition: result.threshold,
      verdict,
      action,
      ...(verdict === 'insufficient' && result.pass && unsound ? { reason: `${unsound}: it cannot pass` } : {}),
      evidence: {
        n: result.evidence?.n ?? 0,
        estimate: result.observed,
        lower: result.evidence?.lower ?? null,
        upper: result.evidence?.upper ?? null,
        limit: result.limit,
        confidence: result.evidence?.confidence ?? 'insufficient',
      },
      span: { startS: schedule.startS + schedule.warmupS, endS: schedule.startS + schedule.durationS },
    })
  })
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
