import { intendedOffsetMs, sendsBefore, stepAt, windowOfSend, type ScheduledStep } from './plan.js'

/**
 * An agent's load threads share its schedule by lanes: thread k of n takes the sends j ≡ k (mod n) of
 * every scheduled step, numbered 0, 1, 2… within its lane. Each send keeps its intended time, so the
 * threads' sends together are exactly the one-thread schedule (evenly spread, phase-shifted by lane),
 * and each lane's window counts are the one-thread counts dealt out. Lane 0 of 1 is the whole schedule.
 */
export interface Lane {
  index: number
  count: number
}

export const wholeSchedule: Lane = { index: 0, count: 1 }

/** How many of a step's first `n` sends (global numbering) are in `lane`. */
export function laneShare(n: number, lane: Lane): number {
  return n > lane.index ? Math.ceil((n - lane.index) / lane.count) : 0
}

/** The step's global send number of the lane's send `l`. */
export function globalSend(l: number, lane: Lane): number {
  return l * lane.count + lane.index
}

/** How many sends of `step` the lane makes. */
export function laneSends(step: ScheduledStep, lane: Lane): number {
  return laneShare(step.sends, lane)
}

/** As intendedOffsetMs, for the lane's send `l`. */
export function laneIntendedOffsetMs(step: ScheduledStep, l: number, lane: Lane): number {
  return intendedOffsetMs(step, globalSend(l, lane))
}

/** As sendsBefore: the lane's sends of `step` intended before run second `t`. */
export function laneSendsBefore(step: ScheduledStep, t: number, lane: Lane): number {
  return laneShare(sendsBefore(step, t), lane)
}

/** As windowOfSend, for the lane's send `l` (the window its global send is in). */
export function laneWindowOfSend(step: ScheduledStep, l: number, lane: Lane): number {
  return windowOfSend(step, globalSend(l, lane))
}

/** As plannedInWindow: the lane's planned sends in window `w`. The lanes' counts add up to the whole's. */
export function lanePlannedInWindow(timeline: readonly ScheduledStep[], w: number, lane: Lane): number {
  const step = stepAt(timeline, w)
  if (!step) return 0
  return laneSendsBefore(step, w + 1, lane) - laneSendsBefore(step, w, lane)
}
