import { buildTimeline, replanTimeline, type PlannedStep, type ScheduledStep } from '@gauntlet/contracts'
import type { StepSpec } from './step-judge.js'

/**
 * The run's plan as it stands: the scenario's steps, lengthened where the step gate held one. A held
 * step is several timeline entries carrying the same step index; its spec spans them all.
 */
export class LiveTimeline {
  private entries: ScheduledStep[]

  constructor(
    steps: readonly PlannedStep[],
    /** The spine's per-step warmup, applied by the threshold judge. */
    private readonly warmupS: number,
  ) {
    this.entries = buildTimeline(steps)
  }

  get stepCount(): number {
    return new Set(this.entries.map((e) => e.step)).size
  }

  spec(step: number): StepSpec | undefined {
    const parts = this.entries.filter((e) => e.step === step)
    if (parts.length === 0) return undefined
    const startS = parts[0]!.startS
    const durationS = parts.reduce((sum, p) => sum + p.durationS, 0)
    return { index: step, rps: parts[0]!.rps, startS, durationS, warmupS: this.warmupS }
  }

  specs(): StepSpec[] {
    return [...new Set(this.entries.map((e) => e.step))].map((step) => this.spec(step)!)
  }

  /** Run second at which `step` ends as planned now. */
  endS(step: number): number {
    const spec = this.spec(step)!
    return spec.startS + spec.durationS
  }

  /** The plan from `step`'s end on, with the step lengthened by `extraS` seconds at its rate. */
  holdTail(step: number, extraS: number): { fromS: number; tail: PlannedStep[] } {
    const fromS = this.endS(step)
    const later = this.entries
      .filter((e) => e.startS >= fromS)
      .map(({ rps, durationS, step: s }) => ({ rps, durationS, step: s }))
    return { fromS, tail: [{ rps: this.spec(step)!.rps, durationS: extraS, step }, ...later] }
  }

  /** The load accepted the change: the same replan, applied here. */
  replan(fromS: number, tail: readonly PlannedStep[]): void {
    this.entries = replanTimeline(this.entries, fromS, tail)
  }
}
