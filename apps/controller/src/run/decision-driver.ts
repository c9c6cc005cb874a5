import type { Decision, WindowReport } from '@gauntlet/contracts'
import type { DecisionConfig } from '../decision/guard-config.js'
import { RunDecisions } from '../decision/run-decisions.js'
import type { RunHooks } from '../hooks/run-hooks.js'
import type { RunStore } from '../storage/run-store.js'
import type { LiveTimeline } from './live-timeline.js'
import { pastRunBaselines } from './past-run-baselines.js'
import type { LoadControl } from './ports.js'
import { StepGating } from './step-gating.js'

export interface DecisionDriverOptions {
  config: DecisionConfig
  scenario: string
  timeline: LiveTimeline
  store: RunStore
  /** Fires a run's hooks without waiting (the run's own: a failure to fire fails the run). */
  fireHook: (...args: Parameters<RunHooks['fire']>) => void
  now: () => Date
  /** The load's controls, once the load has handed them over. */
  load: () => LoadControl | undefined
  record: (decision: Decision) => void
  /** A guard tripped or a gate rolled back: the run must roll back (faults, load, then hooks). */
  rollBack: (step: number, reason: string, decided: Decision[], guard?: string) => void
  /** The gate found the load generator, not the target, was the limit: the run stops (faults, then load). */
  stop: (step: number, reason: string) => void
  /** Something threw in a gate's timer: the run ends as an error. */
  fail: (where: string, error: unknown) => void
}

/**
 * The decision section wired to a run: windows go to the guards as they arrive, gates are timed
 * against the run's clock, and what they decide is recorded and announced (onAdvance, preStep, onHold)
 * or handed to the run as a rollback.
 */
export class DecisionDriver {
  /** Steps the gate advanced: the run passes only when it advanced them all. */
  readonly advanced = new Set<number>()
  private readonly decisions: RunDecisions
  private readonly gating: StepGating
  private halted = false

  constructor(private readonly options: DecisionDriverOptions) {
    const { config, timeline } = options
    // Read once per `runs` count, before the first window needs it.
    const pastRuns = new Map<number, ReturnType<typeof pastRunBaselines>>()
    for (const guard of config.guards)
      if (guard.vs === 'runs' && !pastRuns.has(guard.runs))
        pastRuns.set(guard.runs, pastRunBaselines(options.store, options.scenario, guard.runs, config.warmupS))
    this.decisions = new RunDecisions(config, {
      stepStartS: (step) => timeline.schedule(step)?.startS ?? Number.POSITIVE_INFINITY,
      now: options.now,
      pastRuns: (runs) => pastRuns.get(runs) ?? new Map(),
    })
    const gateDecisions: Decision[] = []
    this.gating = new StepGating({
      decisions: this.decisions,
      timeline,
      maxHoldS: config.maxHoldS,
      fail: options.fail,
      holdSliceS: Math.max(1, ...config.guards.map((g) => g.maxSpanS)),
      replan: () => {
        const load = options.load()
        return load?.replan ? (fromS, tail) => load.replan!(fromS, tail) : undefined
      },
      onGate: (step, gate) => {
        gateDecisions.splice(0, gateDecisions.length, ...gate.decisions)
        for (const decision of gate.decisions) options.record(decision)
        if (gate.action === 'advance') {
          this.advanced.add(step)
          this.options.fireHook('onAdvance', { step, decisions: gate.decisions })
          if (step + 1 < timeline.stepCount) this.options.fireHook('preStep', { step: step + 1 })
        }
        if (gate.action === 'hold')
          this.options.fireHook('onHold', { step, reason: gate.reason, decisions: gate.decisions })
      },
      onStop: (step, reason) => {
        this.halt()
        options.stop(step, reason)
      },
      onRollback: (step, reason) => {
        this.halt()
        // The gate's own records: a rollback, or the hold that the load refused.
        options.rollBack(
          step,
          reason,
          gateDecisions.filter((d) => !d.dryRun),
        )
      },
    })
  }

  /** Second 0 of the run. */
  start(epochMs: number): void {
    this.options.fireHook('preStep', { step: 0 })
    this.gating.start(epochMs)
  }

  /** The next merged window (in order). */
  onWindow(window: WindowReport): void {
    if (this.halted) return
    const outcome = this.decisions.onWindow(window)
    for (const decision of outcome.decisions) this.options.record(decision)
    if (!outcome.rollback) return
    this.halt()
    const decided = outcome.decisions.filter((d) => d.action === 'rollback')
    this.options.rollBack(
      window.step,
      `guard ${outcome.rollback.guard}: ${outcome.rollback.reason}`,
      decided,
      outcome.rollback.guard,
    )
  }

  /** No more gates or span verdicts (the run is rolling back or over). */
  halt(): void {
    this.halted = true
    this.gating.stop()
  }
}
