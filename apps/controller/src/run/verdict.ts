import type { ObservedStep, RunVerdict } from '@gauntlet/contracts'
import { thresholdFailureText } from '../report/step-texts.js'

export interface RunJudgement {
  verdict: RunVerdict
  capacityRps: number | null
  reasons: string[]
}

export interface Rollback {
  step: number
  reason: string
  at: string
  guard?: string
  /** Decided on the whole run once the load was over (a leak guard), not in a step. */
  afterLoad?: boolean
}

/** Everything a run's verdict is made of. */
export interface RunEvidence {
  /** The steps judged (or cut short), in order. */
  steps: readonly ObservedStep[]
  /** The planned rate of every step of the scenario. */
  plannedRps: readonly number[]
  /** Why the run stopped before its plan ended (a stop, a lost load), if it did. */
  stoppedBy?: string
  /** With a decision section: the steps its gate advanced. */
  advanced?: ReadonlySet<number>
  rollback?: Rollback
  /** Acting leak guards that could not judge (no scrape before or after the load). */
  unjudged?: readonly string[]
  /** The run failed inside (a callback threw): it proves nothing, whatever it measured. */
  failure?: string
}

/**
 * The run's verdict, fail closed: a rollback or a failed step fails it; a run stopped early, a step
 * that could not be judged (cut short, or generator-limited: the client, not the target, was the
 * limit), a step the gate did not promote, or a leak guard that could not judge leaves it an error;
 * never a pass by default. Capacity is the rate of the highest step that passed before the first
 * failure (and, with a decision section, that the gate advanced before any rollback).
 */
export function judgeRun(evidence: RunEvidence): RunJudgement {
  if (evidence.failure) return { verdict: 'error', capacityRps: capacityOf(evidence), reasons: [evidence.failure] }
  const judgement = evidence.advanced ? judgeGated(evidence, evidence.advanced) : judgeSteps(evidence)
  if (judgement.verdict === 'pass' && (evidence.unjudged?.length ?? 0) > 0)
    return { ...judgement, verdict: 'error', reasons: [...evidence.unjudged!] }
  return judgement
}

/** The steps' own verdicts (their thresholds). */
function judgeSteps(evidence: RunEvidence, stoppedBy = evidence.stoppedBy): RunJudgement {
  const { steps } = evidence
  const plannedSteps = evidence.plannedRps.length
  const capacityRps = capacityOf(evidence)
  const reasons = steps.flatMap(stepReasons)
  if (steps.some((s) => s.verdict === 'fail')) return { verdict: 'fail', capacityRps, reasons }
  const allPassed = steps.length === plannedSteps && steps.every((s) => s.verdict === 'pass')
  // A stop that came after every step was judged took nothing away from the evidence.
  if (stoppedBy && !allPassed) {
    const passed = steps.filter((s) => s.verdict === 'pass').length
    return {
      verdict: 'error',
      capacityRps,
      reasons: [`${stoppedBy}; ${passed} of ${plannedSteps} steps were judged, all passed`, ...reasons],
    }
  }
  const unjudged = steps.filter((s) => s.verdict !== 'pass').length + (plannedSteps - steps.length)
  if (unjudged > 0)
    return {
      verdict: 'error',
      capacityRps,
      reasons: [`${unjudged} of ${plannedSteps} steps could not be judged`, ...reasons],
    }
  return { verdict: 'pass', capacityRps, reasons }
}

/** With a decision section: a rollback fails the run; otherwise the steps' verdicts, and every step promoted. */
function judgeGated(evidence: RunEvidence, advanced: ReadonlySet<number>): RunJudgement {
  const { rollback } = evidence
  const plannedSteps = evidence.plannedRps.length
  // A rollback stopped the run on purpose: the steps are judged on what they saw.
  const steps = judgeSteps(evidence, rollback ? undefined : evidence.stoppedBy)
  const capacityRps = capacityOf(evidence)
  if (rollback) {
    const where = rollback.afterLoad
      ? 'after the load'
      : `in step ${rollback.step + 1} (${evidence.plannedRps[rollback.step]} rps)`
    return { verdict: 'fail', capacityRps, reasons: [`rolled back ${where}: ${rollback.reason}`, ...steps.reasons] }
  }
  if (steps.verdict !== 'pass') return steps
  const unpromoted = plannedSteps - advanced.size
  if (unpromoted > 0) {
    const why = evidence.stoppedBy ? `${evidence.stoppedBy}; ` : ''
    return {
      verdict: 'error',
      capacityRps,
      reasons: [`${why}the step gate promoted ${advanced.size} of ${plannedSteps} steps`],
    }
  }
  return steps
}

/** Why a step did not pass, in words. */
function stepReasons(step: ObservedStep): string[] {
  if (step.verdict === 'pass' || step.verdict === 'aborted') return []
  const failed = step.thresholds.filter((r) => !r.pass)
  if (failed.length > 0 && step.verdict === 'fail') return failed.map((r) => thresholdFailureText(step, r))
  return [
    step.reason
      ? `step ${step.index + 1} (${step.plannedRps} rps): ${step.reason}`
      : `step ${step.index + 1} (${step.plannedRps} rps) failed`,
  ]
}

/**
 * The highest planned rate proven: the last step that passed before the first failed step (a
 * generator-limited step proves nothing about the target, so it never counts). With a decision
 * section, the highest step the gate advanced before any rollback during the load, unless its own
 * verdict says otherwise.
 */
function capacityOf(evidence: RunEvidence): number | null {
  const firstFail = evidence.steps.find((s) => s.verdict === 'fail')?.index ?? Number.POSITIVE_INFINITY
  const { advanced, rollback } = evidence
  if (!advanced) {
    const passed = evidence.steps.filter((s) => s.verdict === 'pass' && s.index < firstFail)
    return passed.at(-1)?.plannedRps ?? null
  }
  const disproven = new Set(evidence.steps.filter((s) => s.verdict === 'generator-limited').map((s) => s.index))
  const proven = [...advanced].filter(
    (i) => i < firstFail && !disproven.has(i) && (!rollback || rollback.afterLoad || i < rollback.step),
  )
  return proven.length > 0 ? evidence.plannedRps[Math.max(...proven)]! : null
}
