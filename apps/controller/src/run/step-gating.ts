import type { PlannedStep } from '@gauntlet/contracts'
import type { GateDecision, RunDecisions } from '../decision/run-decisions.js'
import type { LiveTimeline } from './live-timeline.js'

/** The gate is taken this long before a step's planned end: time for a hold's replan to reach the load. */
const gateLeadMs = 500

export interface StepGatingOptions {
  decisions: RunDecisions
  timeline: LiveTimeline
  maxHoldS: number
  /** A hold lengthens the step by this much at a time (the longest evaluation span), then gates again. */
  holdSliceS: number
  /** The load's replan (absent: the load cannot be held, so a hold fails closed into a rollback). */
  replan: () => ((fromS: number, tail: PlannedStep[]) => Promise<boolean>) | undefined
  /** Every gate, after it is taken (the run records it and fires onAdvance / onHold). */
  onGate: (step: number, gate: GateDecision, heldS: number) => void
  onRollback: (step: number, reason: string) => void
  /** The load generator could not send the step on schedule: the run stops there (no pass, no rollback). */
  onStop: (step: number, reason: string) => void
  /** The rollback itself threw: the run must end as an error (never an unhandled rejection). */
  fail: (where: string, error: unknown) => void
}

/**
 * Times the step gates against the run's clock: before each step's planned end, ADVANCE lets the plan
 * go on, HOLD lengthens the step (a replan of the load) and gates again at the new end, ROLLBACK and
 * STOP hand over to the run. Timers only; the judgement itself is RunDecisions'.
 */
export class StepGating {
  private timer: NodeJS.Timeout | undefined
  private startEpochMs = 0
  private stopped = false

  constructor(private readonly options: StepGatingOptions) {}

  start(epochMs: number): void {
    this.startEpochMs = epochMs
    this.schedule(0, 0)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private schedule(step: number, heldS: number): void {
    if (this.stopped || step >= this.options.timeline.stepCount) return
    const dueMs = this.startEpochMs + this.options.timeline.endS(step) * 1000 - gateLeadMs
    this.timer = setTimeout(
      () => {
        // A gate that throws (its record could not be stored, say) must not take the process down: the run rolls back.
        this.gate(step, heldS)
          .catch((error: unknown) => {
            if (!this.stopped) this.options.onRollback(step, `the step gate failed: ${(error as Error).message}`)
          })
          .catch((error: unknown) => this.options.fail(`rolling back step ${step + 1} after its gate failed`, error))
      },
      Math.max(0, dueMs - Date.now()),
    )
  }

  private async gate(step: number, heldS: number): Promise<void> {
    if (this.stopped) return
    const decision = this.options.decisions.gateStep(step, heldS)
    this.options.onGate(step, decision, heldS)
    if (decision.action === 'advance') return this.schedule(step + 1, 0)
    if (decision.action === 'rollback') return this.options.onRollback(step, decision.reason)
    if (decision.action === 'stop') return this.options.onStop(step, decision.reason)
    const replan = this.options.replan()
    if (!replan)
      return this.options.onRollback(
        step,
        `${decision.reason}; this load cannot be replanned, so the step fails closed`,
      )
    const sliceS = Math.max(1, Math.min(this.options.holdSliceS, this.options.maxHoldS - heldS))
    const { fromS, tail } = this.options.timeline.holdTail(step, sliceS)
    // The run's own view moves first, so a window that arrives while the load is being replanned is
    // already counted in the lengthened step (a refusal rolls the run back, so it is never undone).
    this.options.timeline.replan(fromS, tail)
    if (!(await replan(fromS, tail))) {
      if (!this.stopped)
        this.options.onRollback(
          step,
          `${decision.reason}; the load refused the hold (it came too late to change second ${fromS}), so the ` +
            `step fails closed`,
        )
      return
    }
    this.schedule(step, heldS + sliceS)
  }
}
