import { buildTimeline, replanTimeline, type PlannedStep, type ScheduledStep } from '@gauntlet/contracts'
import type { LiveStep } from '../decision/step-judgement.js'

/**
 * The run's plan as it stands: the scenario's steps, lengthened where the step gate held one. A held
 * step is several timeline entries carrying the same step index; its schedule covers them all.
 */
export class LiveTimeline {
  private entries: ScheduledStep[]

  constructor(
    steps: readonly PlannedStep[],
    /** The scenario's per-step warmup (`load.warmup`), which the step's thresholds do not judge. */
    private readonly warmupS: number,
  ) {
    this.entries = buildTimeline(steps)
  }

  get stepCount(): number {
    return new Set(this.entries.map((e) => e.step)).size
  }

  schedule(step: number): LiveStep | undefined {
    const parts = this.entries.filter((e) => e.step === step)
    if (parts.length === 0) return undefined
    const startS = parts[0]!.startS
    const durationS = parts.reduce((sum, p) => sum + p.durationS, 0)
    return { index: step, rps: parts[0]!.rps, startS, durationS, warmupS: this.warmupS }
  }

  schedules(): LiveStep[] {
    return [...new Set(this.entries.map((e) => e.step))].map((step) => this.schedule(step)!)
  }

  /** Run second at which `step` ends as planned now. */
  endS(step: number): number {
    const schedule = this.schedule(step)!
    return schedule.startS + schedule.durationS
  }

  /** The plan from `step`'s end on, with the step lengthened by `extraS` seconds at its rate. */
  holdTail(step: number, extraS: number): { fromS: number; tail: PlannedStep[] } {
    const fromS = this.endS(step)
    const later = this.entries
      .filter((e) => e.startS >= fromS)
      .map(({ rps, durationS, step: s }) => ({ rps, durationS, step: s }))
    return { fromS, tail: [{ rps: this.schedule(step)!.rps, durationS: extraS, step }, ...later] }
  }

  /** The load accepted the change: the same replan, applied here. */
  replan(fromS: number, tail: readonly PlannedStep[]): void {
    this.entries = replanTimeline(this.entries, fromS, tail)
  }
}
