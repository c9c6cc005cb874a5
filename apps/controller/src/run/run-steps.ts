import type { Decision, ObservedStep, WindowReport } from '@gauntlet/contracts'
import type { Threshold } from '../decision/condition.js'
import { judgeStep, thresholdDecisions, type LiveStep } from '../decision/step-judgement.js'
import type { LiveTimeline } from './live-timeline.js'

export interface RunStepsOptions {
  timeline: LiveTimeline
  /** The scenario's planned duration of each step (a held step lasts longer). */
  plannedDurationsS: readonly number[]
  thresholds: readonly Threshold[]
  onThresholdFail: 'stop' | 'continue'
  /** An insufficient threshold fails its step. */
  strict: boolean
  now: () => Date
}

/** A step judged at its end, with the decisions its thresholds led to. */
export interface JudgedStep {
  step: ObservedStep
  decisions: Decision[]
}

/**
 * The windows of a run, by step, and each step judged once its last window is in (or, for a step cut
 * short by a stop, once the load is over).
 */
export class RunSteps {
  readonly observed: ObservedStep[] = []
  private readonly windowsByStep = new Map<number, WindowReport[]>()

  constructor(private readonly options: RunStepsOptions) {}

  add(window: WindowReport): void {
    const list = this.windowsByStep.get(window.step) ?? []
    list.push(window)
    this.windowsByStep.set(window.step, list)
  }

  /** The step's judgement when `window` (already added) was its last. */
  endOf(window: WindowReport): JudgedStep | undefined {
    const schedule = this.options.timeline.schedule(window.step)
    if (!schedule || window.index !== schedule.startS + schedule.durationS - 1) return undefined
    const step = this.judge(schedule)
    return { step, decisions: thresholdDecisions(schedule, step, this.options.onThresholdFail, this.options.now()) }
  }

  /**
   * Once the load is over: the steps a stop cut short, reported as aborted with what they measured
   * (generator-limited when the load generator could not keep their plan).
   */
  cutShort(): ObservedStep[] {
    return this.options.timeline
      .schedules()
      .filter((s) => !this.observed.some((o) => o.index === s.index) && this.windowsByStep.has(s.index))
      .map((schedule) => {
        const step = this.judge(schedule)
        // A step cut short passes and fails nothing; that the client was the limit stays said.
        if (step.verdict === 'generator-limited') return step
        const cut: ObservedStep = { ...step, verdict: 'aborted' }
        delete cut.reason
        return cut
      })
  }

  /** Records a step that will not be judged again. */
  keep(step: ObservedStep): void {
    this.observed.push(step)
  }

  private judge(schedule: LiveStep): ObservedStep {
    const windows = this.windowsByStep.get(schedule.index) ?? []
    const step = judgeStep(schedule, windows, this.options.thresholds, { strict: this.options.strict })
    const planned = this.options.plannedDurationsS[schedule.index] ?? schedule.durationS
    return schedule.durationS > planned ? { ...step, heldS: schedule.durationS - planned } : step
  }
}
