import type { Decision, StepSummary } from '@gauntlet/contracts'
import type { StepSpec } from '../run/step-judge.js'

/**
 * The decisions a judged step leads to under the spine's per-step thresholds: one per threshold, with
 * its evidence, and the action the run takes (advance; stop at a failure; or continue past it when the
 * scenario says onThresholdFail: continue). Pure: the run service stores and publishes them.
 */
export function stepDecisions(
  spec: StepSpec,
  step: StepSummary,
  onThresholdFail: 'stop' | 'continue',
  at: Date,
): Decision[] {
  if (step.verdict === 'aborted') return []
  const failed = step.verdict === 'fail'
  const action: Decision['action'] = !failed ? 'advance' : onThresholdFail === 'stop' ? 'stop' : 'continue'
  return step.thresholds.map((result) => ({
    at: at.toISOString(),
    step: step.index,
    source: 'threshold' as const,
    guard: result.threshold,
    verdict: result.observed === null ? 'insufficient' : result.pass ? 'pass' : 'fail',
    action,
    evidence: {
      n: result.evidence?.n ?? 0,
      estimate: result.observed,
      lower: result.evidence?.lower ?? null,
      upper: result.evidence?.upper ?? null,
      limit: result.limit,
      confidence: result.evidence?.confidence ?? 'insufficient',
      windowStart: spec.startS + spec.warmupS,
      windowEnd: spec.startS + spec.durationS,
    },
  }))
}
