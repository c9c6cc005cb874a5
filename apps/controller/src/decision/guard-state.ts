import type { Confidence } from './evidence.js'
import type { GuardConfig } from './guard-config.js'
import { clientLimitText, clientWasTheLimit, type ClientLimit } from './client-limit.js'

/** A guard's memory of its evaluation spans. Immutable: each span gives a new state. */
export interface GuardState {
  /** Verdicts of this step's last n spans, oldest first. */
  recent: readonly Confidence[]
  /** Consecutive PASS spans in this step (what promotion counts). */
  passStreak: number
  tripped: boolean
  /** Consecutive PASS spans at the tighter clear condition since the trip. */
  clearStreak: number
}

export type GuardEvent = 'trip' | 'clear'

export const initialGuardState: GuardState = {
  recent: [],
  passStreak: 0,
  tripped: false,
  clearStreak: 0,
}

/**
 * One evaluation span's verdicts (at `require` and at the tighter clear condition) into the guard's
 * next state. Trips when m of the last n spans FAIL; a tripped guard clears only after k consecutive
 * PASS spans at the clear condition (hysteresis: a target hovering at the limit cannot flap it).
 * INSUFFICIENT is neither: it breaks a pass streak and never counts toward clearing.
 */
export function observeSpan(
  guard: Pick<GuardConfig, 'trip' | 'clearK'>,
  state: GuardState,
  verdict: Confidence,
  clearVerdict: Confidence,
): { state: GuardState; event?: GuardEvent } {
  const recent = [...state.recent, verdict].slice(-guard.trip.n)
  const passStreak = verdict === 'pass' ? state.passStreak + 1 : 0
  const next: GuardState = { ...state, recent, passStreak }
  if (!state.tripped) {
    const fails = recent.filter((v) => v === 'fail').length
    return fails >= guard.trip.m
      ? { state: { ...next, tripped: true, clearStreak: 0 }, event: 'trip' }
      : { state: next }
  }
  const clearStreak = clearVerdict === 'pass' ? state.clearStreak + 1 : 0
  if (guard.clearK !== null && clearStreak >= guard.clearK)
    return { state: { ...next, tripped: false, clearStreak: 0, recent: [] }, event: 'clear' }
  return { state: { ...next, clearStreak } }
}

/** A new step: promotion is earned again and the m-of-n memory starts over; a trip persists. */
export function enterStep(state: GuardState): GuardState {
  return { ...state, recent: [], passStreak: 0 }
}

export interface GateInput {
  guards: ReadonlyArray<{ config: Pick<GuardConfig, 'name' | 'dryRun'>; state: GuardState }>
  promoteAfter: number
  /** Seconds the step has been held past its planned end. */
  heldS: number
  maxHoldS: number
  /** What this step's judged seconds say about the load generator (none judged yet: nothing). */
  clientLimit?: ClientLimit
}

export interface GateOutcome {
  action: 'advance' | 'hold' | 'rollback' | 'stop'
  reason: string
}

/**
 * The step gate, fail closed: ROLLBACK when an acting guard is tripped or a hold has lasted maxHold;
 * STOP when the load generator could not send this step on schedule (clientWasTheLimit: the client, not the target, was
 * the limit: the step can never pass, and a longer or higher step would not help); ADVANCE when every acting guard that
 * judged this step has passed `promoteAfter` spans in a row;
 * otherwise HOLD. A guard that judged nothing in the step (no span closed) blocks promotion, except a
 * prefault baseline guard in a step without a fault, which had nothing to compare (`applies: false`).
 */
export function gate(input: GateInput, applies: (name: string) => boolean = () => true): GateOutcome {
  const acting = input.guards.filter((g) => !g.config.dryRun)
  const tripped = acting.filter((g) => g.state.tripped)
  if (tripped.length > 0)
    return { action: 'rollback', reason: `guard ${tripped.map((g) => g.config.name).join(', ')} tripped` }
  if (input.clientLimit && clientWasTheLimit(input.clientLimit))
    return {
      action: 'stop',
      reason: `the load generator, not the target, was the limit: ${clientLimitText(input.clientLimit)} in this step`,
    }
  const waiting = acting.filter((g) => applies(g.config.name) && g.state.passStreak < input.promoteAfter)
  if (waiting.length === 0)
    return { action: 'advance', reason: `every guard passed ${input.promoteAfter} span(s) in a row` }
  const why = waiting.map((g) => `${g.config.name} ${g.state.passStreak}/${input.promoteAfter}`).join(', ')
  if (input.heldS >= input.maxHoldS)
    return {
      action: 'rollback',
      reason: `held ${input.heldS}s (maxHold ${input.maxHoldS}s) without enough passing spans: ${why}`,
    }
  return { action: 'hold', reason: `not enough passing spans yet: ${why}` }
}
