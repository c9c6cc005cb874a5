import type { PlannedStep } from './plan-schema.js'

/**
 * A run's plan and its pure pacing arithmetic (open model). A plan is a list of planned steps; laid end
 * to end they make the schedule, one scheduled step per entry. Send j of a scheduled step with rate r
 * starts at startS + j/r seconds, so sends are spread evenly over every second instead of burst at its
 * start. Steps last whole seconds, so 1 s windows never straddle two steps. The entries' schema is in
 * plan-schema.ts: the load thread runs this arithmetic without loading TypeBox.
 */

/** A scenario's steps as a plan, each entry tagged with its scenario step. */
export function scenarioPlan(scenario: { steps: ReadonlyArray<{ rps: number; durationS: number }> }): PlannedStep[] {
  return scenario.steps.map((step, index) => ({ rps: step.rps, durationS: step.durationS, step: index }))
}

/** A planned step placed on the run's clock. */
export interface ScheduledStep {
  /** Position in the schedule. */
  index: number
  /** Scenario step index, reported on every window. */
  step: number
  rps: number
  startS: number
  durationS: number
  /** Number of sends the step plans: round(rps x duration) (fewer when a replan cut it short). */
  sends: number
}

/** The plan laid end to end from run second 0. */
export function buildTimeline(steps: readonly PlannedStep[]): ScheduledStep[] {
  let startS = 0
  return steps.map((planned, index) => {
    const entry = {
      index,
      step: planned.step,
      rps: planned.rps,
      startS,
      durationS: planned.durationS,
      sends: Math.round(planned.rps * planned.durationS),
    }
    startS += planned.durationS
    return entry
  })
}

export function totalDurationS(timeline: readonly ScheduledStep[]): number {
  const last = timeline[timeline.length - 1]
  return last ? last.startS + last.durationS : 0
}

/**
 * The run second at which the scenario step of entry `index` ends: the end of the last of the consecutive
 * entries with its step number (a step is split into several entries when its rate changes mid-step).
 */
export function scenarioStepEndS(timeline: readonly ScheduledStep[], index: number): number {
  const step = timeline[index]?.step
  if (step === undefined) return totalDurationS(timeline)
  let last = index
  while (timeline[last + 1]?.step === step) last++
  const end = timeline[last]!
  return end.startS + end.durationS
}

/** Offset in ms from the run start at which send `j` of `step` is intended to leave. */
export function intendedOffsetMs(step: ScheduledStep, j: number): number {
  return step.startS * 1000 + (j * 1000) / step.rps
}

/** How many sends of `step` are intended before run second `t` (integer arithmetic where it matters). */
export function sendsBefore(step: ScheduledStep, t: number): number {
  return Math.min(step.sends, Math.max(0, Math.ceil((t - step.startS) * step.rps - 1e-9)))
}

/** The step that 1 s window `w` lies in (window w covers [w, w+1) s of the run), if any. */
export function stepAt(timeline: readonly ScheduledStep[], w: number): ScheduledStep | undefined {
  return timeline.find((s) => w >= s.startS && w < s.startS + s.durationS)
}

/** Planned sends whose intended time falls in 1 s window `w`. */
export function plannedInWindow(timeline: readonly ScheduledStep[], w: number): number {
  const step = stepAt(timeline, w)
  if (!step) return 0
  return sendsBefore(step, w + 1) - sendsBefore(step, w)
}

/**
 * The window that send `j` of `step` belongs to, decided by the same counting as plannedInWindow, so
 * window totals always add up. (Subtracting floating-point timestamps would put send 200 of a 200 rps
 * step at 999.9999 ms, in the wrong window.)
 */
export function windowOfSend(step: ScheduledStep, j: number): number {
  let w = step.startS + Math.floor(j / step.rps)
  while (w > step.startS && j < sendsBefore(step, w)) w--
  while (j >= sendsBefore(step, w + 1) && w < step.startS + step.durationS - 1) w++
  return w
}

/**
 * The timeline with everything from second `fromS` on replaced by `tail`: the part before `fromS` keeps
 * exactly the sends it had (a step cut at `fromS` keeps the sends intended before it), so windows
 * already under way add up the same. Used when an agent's share of the rate changes mid-run.
 */
export function replanTimeline(
  timeline: readonly ScheduledStep[],
  fromS: number,
  tail: readonly PlannedStep[],
): ScheduledStep[] {
  const head: PlannedStep[] = []
  const cutSends: number[] = []
  for (const entry of timeline) {
    if (entry.startS >= fromS) break
    const durationS = Math.min(entry.durationS, fromS - entry.startS)
    head.push({ rps: entry.rps, durationS, step: entry.step })
    cutSends.push(durationS === entry.durationS ? entry.sends : sendsBefore(entry, fromS))
  }
  const rebuilt = buildTimeline([...head, ...tail])
  cutSends.forEach((sends, i) => (rebuilt[i]!.sends = sends))
  return rebuilt
}
