/**
 * Pure pacing arithmetic for an open-model step plan. Send j of a step with rate r starts at
 * stepStart + j/r seconds, so sends are spread evenly over every second instead of burst at its start.
 * Steps last whole seconds, so 1 s windows never straddle two steps.
 */
export interface PlannedStep {
  rps: number
  durationS: number
}

export interface StepTimeline {
  index: number
  rps: number
  startS: number
  durationS: number
  /** Number of sends the step plans: round(rps x duration). */
  sends: number
}

export function buildTimeline(steps: readonly PlannedStep[]): StepTimeline[] {
  let startS = 0
  return steps.map((step, index) => {
    const entry = { index, rps: step.rps, startS, durationS: step.durationS, sends: Math.round(step.rps * step.durationS) }
    startS += step.durationS
    return entry
  })
}

export function totalDurationS(timeline: readonly StepTimeline[]): number {
  const last = timeline[timeline.length - 1]
  return last ? last.startS + last.durationS : 0
}

/** Offset in ms from the run start at which send `j` of `step` is intended to leave. */
export function intendedOffsetMs(step: StepTimeline, j: number): number {
  return step.startS * 1000 + (j * 1000) / step.rps
}

/** Planned sends whose intended time falls in 1 s window `w` (window w covers [w, w+1) s of the run). */
export function plannedInWindow(timeline: readonly StepTimeline[], w: number): number {
  const step = timeline.find((s) => w >= s.startS && w < s.startS + s.durationS)
  if (!step) return 0
  const sendsBefore = (t: number): number => Math.min(step.sends, Math.max(0, Math.ceil((t - step.startS) * step.rps - 1e-9)))
  return sendsBefore(w + 1) - sendsBefore(w)
}

export function stepOfWindow(timeline: readonly StepTimeline[], w: number): number {
  return timeline.find((s) => w >= s.startS && w < s.startS + s.durationS)?.index ?? -1
}
