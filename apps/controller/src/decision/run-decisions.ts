import type { Decision, WindowReport } from '@gauntlet/contracts'
import type { Baseline } from './baseline.js'
import { measureChange } from './baseline.js'
import { EvaluationWindows } from './evaluation-window.js'
import { judged, type Evidence } from './evidence.js'
import { isChange, type Condition, type DecisionConfig, type GuardConfig } from './guard-config.js'
import { enterStep, gate, initialGuardState, observeWindow, type GateOutcome, type GuardState } from './guard-state.js'
import { measure } from './measure.js'
import { sampleStats, type SampleStats } from './sample-stats.js'

export interface RunDecisionsOptions {
  /** Run second at which a step starts on the live timeline (holds move later steps). */
  stepStartS: (step: number) => number
  /** vs runs: the pooled windows of the last `runs` passing runs, per step. */
  pastRuns?: (runs: number) => ReadonlyMap<number, Baseline>
  now: () => Date
}

export interface BucketOutcome {
  decisions: Decision[]
  /** An acting guard tripped: the run must roll back. */
  rollback?: { guard: string; reason: string }
}

export interface GateDecision extends GateOutcome {
  decisions: Decision[]
}

interface LiveGuard {
  config: GuardConfig
  state: GuardState
  windows: EvaluationWindows
  /** The evidence of its last judged window, for the gate's records. */
  last?: Decision['evidence']
}

/**
 * The `decision:` section at work, with no I/O: merged 1 s buckets in, decisions out. Each guard cuts
 * the buckets after the step's warmup into evaluation windows, judges each window by its 95% bounds,
 * and keeps its trip/clear state; the gate turns the guards' states into ADVANCE, HOLD or ROLLBACK.
 * Dry-run guards are judged the same way and their records say what they would have done.
 */
export class RunDecisions {
  private readonly guards: LiveGuard[]
  private step = -1
  /** A judged second of the current step was under a fault (prefault baseline guards apply to it). */
  private faultThisStep = false
  /** Judged buckets before the first fault: the prefault baseline. */
  private readonly prefault: WindowReport[] = []
  private prefaultBaseline: Baseline | undefined

  constructor(
    private readonly config: DecisionConfig,
    private readonly options: RunDecisionsOptions,
  ) {
    this.guards = config.guards.map((g) => ({
      config: g,
      state: initialGuardState,
      windows: new EvaluationWindows(g.minSamples, g.maxWindowS),
    }))
  }

  /** The next merged bucket (in order). */
  onBucket(bucket: WindowReport): BucketOutcome {
    const outcome: BucketOutcome = { decisions: [] }
    if (bucket.step !== this.step) {
      this.step = bucket.step
      this.faultThisStep = false
      for (const guard of this.guards) {
        guard.state = enterStep(guard.state)
        guard.windows.reset()
        delete guard.last
      }
    }
    const underFault = (bucket.faults?.length ?? 0) > 0
    // The baseline freezes at the first second under a fault, even one inside a warmup.
    if (underFault && !this.prefaultBaseline) this.prefaultBaseline = prefaultOf(this.prefault)
    if (bucket.index < this.options.stepStartS(bucket.step) + this.config.warmupS) return outcome
    if (!underFault && !this.prefaultBaseline) this.prefault.push(bucket)
    if (underFault) this.faultThisStep = true

    for (const guard of this.guards) {
      if (guard.config.vs === 'prefault' && !underFault) {
        // A window compares seconds under a fault only: one that was open when the fault ended is dropped.
        guard.windows.reset()
        continue
      }
      const closed = guard.windows.add(bucket)
      if (!closed) continue
      const decision = this.judgeWindow(guard, closed)
      outcome.decisions.push(decision)
      if (decision.action === 'rollback')
        outcome.rollback ??= { guard: guard.config.name, reason: decision.reason ?? 'tripped' }
    }
    return outcome
  }

  /** The step gate for `step`, `heldS` seconds past its planned end. */
  gateStep(step: number, heldS: number): GateDecision {
    // No second of this step has arrived yet (its buckets wait on slow requests): what the guards hold
    // is the previous step's, so every guard waits, prefault ones included.
    const current = this.step === step
    const guards = current ? this.guards : this.guards.map((g) => ({ ...g, state: enterStep(g.state) }))
    const input = { guards, promoteAfter: this.config.promoteAfter, heldS, maxHoldS: this.config.maxHoldS }
    const applies = (name: string): boolean => {
      const guard = this.guards.find((g) => g.config.name === name)!
      return guard.config.vs !== 'prefault' || this.faultThisStep || !current
    }
    const outcome = gate(input, applies)
    // What the gate would have said had the dry-run guards acted too.
    const would = gate(
      { ...input, guards: guards.map((g) => ({ ...g, config: { ...g.config, dryRun: false } })) },
      applies,
    )
    const at = this.options.now().toISOString()
    const decisions = guards.map((guard): Decision => {
      const dry = guard.config.dryRun
      return {
        at,
        step,
        source: 'gate',
        guard: guard.config.name,
        condition: guard.config.require.source,
        verdict: guard.state.tripped
          ? 'fail'
          : guard.state.passStreak >= this.config.promoteAfter
            ? 'pass'
            : 'insufficient',
        action: dry ? 'none' : outcome.action,
        ...(dry
          ? {
              dryRun: true,
              reason:
                would.action === outcome.action
                  ? `would have agreed: ${outcome.action}`
                  : `would have ${pastTense(would.action)}: ${would.reason}`,
            }
          : { reason: outcome.reason }),
        evidence: (current ? guard.last : undefined) ?? emptyEvidence(guard.config.require),
      }
    })
    return { ...outcome, decisions }
  }

  private judgeWindow(guard: LiveGuard, buckets: WindowReport[]): Decision {
    const stats = sampleStats(buckets)
    const first = buckets[0]!.index
    const end = buckets.at(-1)!.index + 1
    const verdictOf = (condition: Condition): { evidence: Evidence; baseline?: Decision['evidence']['baseline'] } => {
      if (!isChange(condition)) return { evidence: judged(condition, measure(condition.metric, stats)) }
      const baseline =
        guard.config.vs === 'prefault'
          ? this.prefaultBaseline
          : this.options.pastRuns?.(guard.config.runs).get(this.step)
      if (!baseline || baseline.stats.completed === 0) {
        const source =
          guard.config.vs === 'prefault'
            ? 'prefault: no judged second before the first fault'
            : `runs: no passing run of this scenario reached step ${this.step + 1}`
        return {
          evidence: {
            n: stats.completed,
            estimate: null,
            lower: null,
            upper: null,
            limit: condition.limit,
            confidence: 'insufficient',
          },
          baseline: { source, n: 0, estimate: null },
        }
      }
      const change = measureChange(condition, stats, baseline)
      return { evidence: judged(condition, change), baseline: change.baseline }
    }
    const main = verdictOf(guard.config.require)
    // Lost agent data is never evidence of health: such a window can fail, never pass.
    const lostData = stats.degraded
    const verdict = lostData && main.evidence.confidence === 'pass' ? 'insufficient' : main.evidence.confidence
    const clearVerdict = guard.state.tripped ? verdictOf(guard.config.clearRequire).evidence.confidence : 'insufficient'
    const { state, event } = observeWindow(
      guard.config,
      guard.state,
      verdict,
      lostData && clearVerdict === 'pass' ? 'insufficient' : clearVerdict,
    )
    guard.state = state
    const { n, estimate, lower, upper, limit, confidence } = main.evidence
    guard.last = {
      n,
      estimate,
      lower,
      upper,
      limit,
      confidence,
      windowStart: first,
      windowEnd: end,
      ...(main.baseline ? { baseline: main.baseline } : {}),
    }
    const dry = guard.config.dryRun
    let reason: string | undefined
    if (event === 'trip') {
      const fails = state.recent.filter((v) => v === 'fail').length
      const why =
        guard.config.kind === 'abort' ? 'a window failed' : `${fails} of the last ${state.recent.length} windows failed`
      reason = dry ? `would have rolled back at ${clockText(end)}: ${why}` : `${why} (at ${clockText(end)})`
    } else if (event === 'clear')
      reason = `cleared after ${guard.config.clearK} passing windows at "${guard.config.clearRequire.source}"`
    else if (lostData) reason = 'a lost agent left this window short: it cannot pass'
    return {
      at: this.options.now().toISOString(),
      step: this.step,
      source: 'window',
      guard: guard.config.name,
      condition: guard.config.require.source,
      verdict,
      action: event === 'trip' && !dry ? 'rollback' : 'none',
      ...(dry ? { dryRun: true } : {}),
      ...(reason ? { reason } : {}),
      evidence: guard.last,
    }
  }
}

function prefaultOf(buckets: readonly WindowReport[]): Baseline {
  const stats: SampleStats = sampleStats(buckets)
  const span = buckets.length > 0 ? `seconds ${buckets[0]!.index}-${buckets.at(-1)!.index}` : 'no seconds'
  return { source: `prefault: ${buckets.length} judged second(s) before the first fault (${span})`, stats }
}

function emptyEvidence(condition: Condition): Decision['evidence'] {
  return {
    n: 0,
    estimate: null,
    lower: null,
    upper: null,
    limit: condition.limit,
    confidence: 'insufficient',
    windowStart: 0,
    windowEnd: 0,
  }
}

const pastTense = (action: GateOutcome['action']): string =>
  ({ advance: 'advanced', hold: 'held', rollback: 'rolled back' })[action]

/** Run seconds as a clock: 192 -> 3m12s. */
export function clockText(seconds: number): string {
  const m = Math.floor(seconds / 60)
  const s = seconds % 60
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}
