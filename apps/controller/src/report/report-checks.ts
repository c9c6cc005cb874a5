import type { Decision, ObservedStep, RunReport, ThresholdResult } from '@gauntlet/contracts'
import { formatObserved } from './format-values.js'
import { thresholdFailureText, weakEvidenceText } from './step-texts.js'
import { decisionLines } from './text-report.js'

/**
 * One check of a run, as a CI gate reads it (a JUnit testcase; a line of the Markdown's failed checks):
 * - `run`: the run reached a verdict (error when it could not run at all);
 * - `step`: the step carried its planned load to its end (error when the load generator was the limit,
 *   or the step was cut short: then the step proves nothing about the target);
 * - `threshold`: one per step x threshold (steps[].thresholds, with their evidence);
 * - `guard`: one per guard of the `decision:` section per step it was judged at (leak guards once).
 */
export interface ReportCheck {
  kind: 'run' | 'step' | 'threshold' | 'guard'
  /** 0-based step; null for the run. */
  step: number | null
  name: string
  /**
   * pass; fail (the evidence breaks the condition, or a guard tripped); insufficient (met on the point
   * estimate but not vouched for at 95%, or measured on unsound data); error (nothing sound to judge);
   * skipped (not judged here, or a dry-run guard: it acted on nothing).
   */
  outcome: 'pass' | 'fail' | 'insufficient' | 'error' | 'skipped'
  /** The evidence line, or why. */
  message: string
}

/** In reading order: the run, then each step with its thresholds and guards, then leak guards (after the load). */
export function reportChecks(report: RunReport): ReportCheck[] {
  const checks: ReportCheck[] = [runCheck(report)]
  const guards = guardChecks(report)
  const placed = new Set<ReportCheck>()
  for (const step of report.steps) {
    checks.push(stepCheck(report, step))
    for (const result of step.thresholds) checks.push(thresholdCheck(step, result))
    for (const guard of guards.filter((g) => g.step === step.index && !g.name.startsWith(afterLoad))) {
      checks.push(guard)
      placed.add(guard)
    }
  }
  return [...checks, ...guards.filter((g) => !placed.has(g))]
}

const afterLoad = 'after the load'

const stepName = (step: { index: number; plannedRps: number }): string =>
  `step ${step.index + 1} (${step.plannedRps} rps)`

function runCheck(report: RunReport): ReportCheck {
  // The same name in every run: CI keeps a test's history by its name.
  const name = 'the run reached a verdict'
  if (report.run.verdict !== 'error') return { kind: 'run', step: null, name, outcome: 'pass', message: '' }
  const why = report.reasons.join('; ') || `the run ended ${report.run.status} without a verdict`
  return { kind: 'run', step: null, name, outcome: 'error', message: why }
}

function stepCheck(report: RunReport, step: ObservedStep): ReportCheck {
  const base = { kind: 'step', step: step.index, name: `${stepName(step)}: load carried as planned` } as const
  if (step.verdict === 'generator-limited')
    return { ...base, outcome: 'error', message: step.reason ?? 'the load generator could not send on schedule' }
  if (step.verdict === 'aborted') {
    const rollback = report.rollback?.step === step.index ? `: the run rolled back (${report.rollback.reason})` : ''
    return { ...base, outcome: 'error', message: `the step was cut short${rollback}` }
  }
  if (step.degraded)
    return { ...base, outcome: 'insufficient', message: "some judged seconds lack a lost agent's share" }
  const message = `${round(step.achievedRps)} of ${step.plannedRps} rps over ${step.durationS - step.warmupS} judged s`
  return { ...base, outcome: 'pass', message }
}

/** A step whose data cannot vouch for a pass: a threshold it met there is insufficient, not a pass. */
function unsoundStep(step: ObservedStep): string | undefined {
  if (step.verdict === 'generator-limited') return 'the load generator, not the target, was the limit'
  if (step.verdict === 'aborted') return 'the step was cut short'
  if (step.degraded) return "a lost agent's share is missing"
  return undefined
}

function thresholdCheck(step: ObservedStep, result: ThresholdResult): ReportCheck {
  const base = { kind: 'threshold', step: step.index, name: `${stepName(step)}: ${result.threshold}` } as const
  const evidence =
    `observed ${formatObserved(result.metric, result.observed)} (limit ${formatObserved(result.metric, result.limit)}); ` +
    boundsText(result)
  if (!result.pass)
    return { ...base, outcome: 'fail', message: `${thresholdFailureText(step, result)}; ${boundsText(result)}` }
  if (!result.evidence) return { ...base, outcome: 'insufficient', message: 'passed; no evidence was recorded' }
  if (result.evidence.confidence !== 'pass')
    return { ...base, outcome: 'insufficient', message: weakEvidenceText(step, result) }
  const unsound = unsoundStep(step)
  if (unsound)
    return {
      ...base,
      outcome: 'insufficient',
      message: `met, on data that cannot vouch for it (${unsound}); ${evidence}`,
    }
  return { ...base, outcome: 'pass', message: evidence }
}

/** "95% 790ms to 830ms, n=1200, confidence fail". */
export function boundsText(result: ThresholdResult): string {
  if (!result.evidence) return 'no evidence recorded'
  const value = (v: number | null): string => (v === null ? '?' : formatObserved(result.metric, v))
  const { n, lower, upper, confidence } = result.evidence
  return `95% ${value(lower)} to ${value(upper)}, n=${n}, confidence ${confidence}`
}

/**
 * The guards' decisions, grouped by guard and step (threshold decisions repeat steps[].thresholds and
 * are left out). Which record settles each group:
 * - a trip (a span's rollback, a leak guard's fail, a gate that found it tripped): fail, with that
 *   decision's evidence line; a dry-run guard's trip is skipped ("would have rolled back"), it gates nothing;
 * - otherwise the step gate's verdict (the guard's state when the step ended): pass or insufficient; a gate
 *   that found no span judged at that step (a prefault guard in a step without a fault, say) is skipped;
 * - without a gate (the run ended mid-step), the group's last decision's verdict; a failed span that did not
 *   trip the guard is not a failure of the guard (insufficient).
 */
function guardChecks(report: RunReport): ReportCheck[] {
  const groups = new Map<string, Decision[]>()
  for (const d of report.decisions) {
    if (d.source === 'threshold') continue
    const key = `${d.step}\u0000${d.guard}`
    groups.set(key, [...(groups.get(key) ?? []), d])
  }
  return [...groups.values()].map((decisions) => guardCheck(report, decisions))
}

function guardCheck(report: RunReport, decisions: readonly Decision[]): ReportCheck {
  const first = decisions[0]!
  const step = report.steps.find((s) => s.index === first.step) ?? { index: first.step, plannedRps: 0 }
  const where = first.source === 'leak' ? afterLoad : stepName(step)
  const condition = first.condition ? ` (${first.condition})` : ''
  const base = { kind: 'guard', step: first.step, name: `${where}: guard ${first.guard}${condition}` } as const
  const line = (d: Decision): string => decisionLines([d])[0]!.replace(/^decision: /, '')
  const trip = decisions.find(isTrip)
  if (trip) return { ...base, outcome: trip.dryRun ? 'skipped' : 'fail', message: line(trip) }
  const gate = decisions.findLast((d) => d.source === 'gate')
  if (gate) {
    const judged = gate.evidence.n > 0 || gate.evidence.windowEnd > gate.evidence.windowStart
    if (!judged) return { ...base, outcome: 'skipped', message: `not judged in ${stepName(step)}: ${line(gate)}` }
    return { ...base, outcome: gate.verdict === 'pass' ? 'pass' : 'insufficient', message: line(gate) }
  }
  const last = decisions.at(-1)!
  return { ...base, outcome: last.verdict === 'pass' ? 'pass' : 'insufficient', message: line(last) }
}

/** The decision that tripped the guard: a span or leak guard that rolled back (or would have), a gate that found it failed. */
function isTrip(d: Decision): boolean {
  if (d.source === 'leak') return d.verdict === 'fail'
  if (d.source === 'gate') return d.verdict === 'fail'
  return d.action === 'rollback' || (d.reason?.startsWith('would have rolled back') ?? false)
}

const round = (n: number): number => Math.round(n * 10) / 10
