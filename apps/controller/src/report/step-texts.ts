import type { ObservedStep, ThresholdResult } from '@gauntlet/contracts'
import { formatObserved } from './format-values.js'

/** Why a step failed a threshold, in the threshold's unit: a reason of the run's verdict. */
export function thresholdFailureText(step: ObservedStep, result: ThresholdResult): string {
  return (
    `step ${step.index + 1} (${step.plannedRps} rps): ` +
    `${result.metric} ${formatObserved(result.metric, result.observed)} does not meet ` +
    `"${result.threshold}" (limit ${formatObserved(result.metric, result.limit)})`
  )
}

/** A threshold met by the point estimate but not by its 95% bound: passed, but the data cannot vouch for it. */
export function weakEvidenceText(step: ObservedStep, result: ThresholdResult): string {
  const evidence = result.evidence!
  const bound = (value: number | null): string => (value === null ? '?' : formatObserved(result.metric, value))
  return (
    `step ${step.index + 1}: "${result.threshold}" passed on ${evidence.n} samples, too few to be sure at 95% ` +
    `(bounds ${bound(evidence.lower)} to ${bound(evidence.upper)})`
  )
}
