import type { RunVerdict, StepSummary } from '@gauntlet/contracts'
import { formatObserved } from '../report/format-values.js'

export interface RunJudgement {
  verdict: RunVerdict
  capacityRps: number | null
  reasons: string[]
}

/**
 * The run's verdict from its judged steps. Fail closed: a run that was stopped or ran no step to the
 * end is an error unless a threshold already failed, never a pass by default.
 */
export function judgeRun(
  steps: readonly StepSummary[],
  plannedSteps: number,
  stoppedEarly: string | undefined,
): RunJudgement {
  const reasons: string[] = []
  const firstFail = steps.findIndex((s) => s.verdict === 'fail')
  for (const step of steps) {
    if (step.verdict !== 'fail') continue
    const failed = step.thresholds.filter((r) => !r.pass)
    if (failed.length === 0) reasons.push(`step ${step.index + 1} (${step.plannedRps} rps) failed`)
    for (const result of failed) {
      reasons.push(
        `step ${step.index + 1} (${step.plannedRps} rps): ${result.metric} ${formatObserved(result.metric, result.observed)} does not meet "${result.threshold}" (limit ${formatObserved(result.metric, result.limit)})`,
      )
    }
  }
  const passedBeforeFail = (firstFail < 0 ? steps : steps.slice(0, firstFail)).filter((s) => s.verdict === 'pass')
  const capacityRps = passedBeforeFail.length > 0 ? passedBeforeFail[passedBeforeFail.length - 1]!.plannedRps : null

  if (firstFail >= 0) return { verdict: 'fail', capacityRps, reasons }
  const allPassed = steps.length === plannedSteps && steps.every((s) => s.verdict === 'pass')
  // A stop that came after every step was judged took nothing away from the evidence.
  if (stoppedEarly && !allPassed) {
    const judged = steps.filter((s) => s.verdict === 'pass').length
    return {
      verdict: 'error',
      capacityRps,
      reasons: [`${stoppedEarly}; ${judged} of ${plannedSteps} steps were judged, all passed`],
    }
  }
  const unjudged = steps.filter((s) => s.verdict !== 'pass').length + (plannedSteps - steps.length)
  if (unjudged > 0)
    return { verdict: 'error', capacityRps, reasons: [`${unjudged} of ${plannedSteps} steps could not be judged`] }
  return { verdict: 'pass', capacityRps, reasons }
}

export interface Rollback {
  step: number
  reason: string
  at: string
  guard?: string
  /** Decided on the whole run once the load was over (a leak guard), not in a step. */
  afterLoad?: boolean
}

/**
 * The verdict of a run with a decision section: a rollback fails it; otherwise it passes only when
 * the thresholds passed and the gate promoted every step (a run stopped early is judged on what it saw,
 * never passed by default). Capacity is the rate of the highest step the gate advanced.
 */
export function judgeGatedRun(
  thresholds: RunJudgement,
  gated: {
    advanced: ReadonlySet<number>
    rollback: Rollback | undefined
    plannedSteps: number
    rps: readonly number[]
    stoppedBy: string | undefined
  },
): RunJudgement {
  const rollback = gated.rollback
  const promoted = [...gated.advanced].filter((i) => rollback === undefined || rollback.afterLoad || i < rollback.step)
  const capacityRps = promoted.length > 0 ? gated.rps[Math.max(...promoted)]! : null
  if (rollback) {
    const where = rollback.afterLoad
      ? 'after the load'
      : `in step ${rollback.step + 1} (${gated.rps[rollback.step]} rps)`
    return {
      verdict: 'fail',
      capacityRps,
      reasons: [`rolled back ${where}: ${rollback.reason}`, ...thresholds.reasons],
    }
  }
  if (thresholds.verdict !== 'pass') return { ...thresholds, capacityRps }
  const unpromoted = gated.plannedSteps - gated.advanced.size
  if (unpromoted > 0) {
    const why = gated.stoppedBy ? `${gated.stoppedBy}; ` : ''
    return {
      verdict: 'error',
      capacityRps,
      reasons: [`${why}the step gate promoted ${gated.advanced.size} of ${gated.plannedSteps} steps`],
    }
  }
  return { ...thresholds, capacityRps }
}
