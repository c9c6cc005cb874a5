import type { Decision, WindowReport } from '@gauntlet/contracts'
import type { Baseline } from './baseline.js'
import { measureChange } from './baseline.js'
import { decisionRecord, noEvidence } from './decision-record.js'
import { EvaluationSpans } from './evaluation-span.js'
import { judgeMeasurement, neverPass, unsoundData, type Evidence } from './evidence.js'
import { isChange, type Condition, type DecisionConfig, type GuardConfig } from './guard-config.js'
import { enterStep, gate, initialGuardState, observeSpan, type GateOutcome, type GuardState } from './guard-state.js'
import { measure } from './measure.js'
import { windowsOf } from './request-view.js'
import { sampleStats, type SampleStats } from './sample-stats.js'
import type { ClientLimit } from './client-limit.js'

export interface RunDecisionsOptions {
  /** Run second at which a step starts on the live timeline (holds move later steps). */
  stepStartS: (step: number) => number
  /** vs runs: the pooled windows of the last `runs` passing runs, per step. */
  pastRuns?: (runs: number) => ReadonlyMap<number, Baseline>
  now: () => Date
}

export interface WindowOutcome {
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
  spans: EvaluationSpans
  /** The evidence of its last judged span, for the gate's records. */
  last?: { evidence: Evidence; span: { startS: number; endS: number }; baseline?: ChangeBaseline }
}

type ChangeBaseline = NonNullable<Decision['evidence']['baseline']>

/**
 * The `decision:` section at work, with no I/O: merged 1 s windows in, decisions out. Each guard cuts
 * the windows after the step's warmup into evaluation spans, judges each span by its 95% bounds, and
 * keeps its trip/clear state; the gate turns the guards' states into ADVANCE, HOLD or ROLLBACK.
 * Dry-run guards are judged the same way and their records say what they would have done.
 */
export class RunDecisions {
  private readonly guards: LiveGuard[]
  private step = -1
  /** A judged second of the current step was under a fault (prefault baseline guards apply to it). */
  private faultThisStep = false
  /** What the current step's judged seconds say about the load generator. */
  private clientLimit: ClientLimit = { limitedS: 0, droppedS: 0, judgedS: 0 }
  /** Judged windows before the first fault: the prefault baseline. */
  private readonly prefault: WindowReport[] = []
  private prefaultBaseline: Baseline | undefined

  constructor(
    private readonly config: DecisionConfig,
    private readonly options: RunDecisionsOptions,
  ) {
    this.guards = config.guards.map((g) => ({
      config: g,
      state: initialGuardState,
      spans: new EvaluationSpans(g.minSamples, g.maxSpanS),
    }))
  }

  /** The next merged window (in order). */
  onWindow(window: WindowReport): WindowOutcome {
    const outcome: WindowOutcome = { decisions: [] }
    if (window.step !== this.step) this.enterStep(window.step)
    const underFault = (window.faults?.length ?? 0) > 0
    // The baseline freezes at the first second under a fault, even one inside a warmup.
    if (underFault && !this.prefaultBaseline) this.prefaultBaseline = prefaultOf(this.prefault)
    if (window.index < this.options.stepStartS(window.step) + this.config.warmupS) return outcome
    if (!underFault && !this.prefaultBaseline) this.prefault.push(window)
    if (underFault) this.faultThisStep = true
    this.clientLimit = {
      limitedS: this.clientLimit.limitedS + (window.generatorLimited ? 1 : 0),
      droppedS: this.clientLimit.droppedS + (window.dropped > 0 ? 1 : 0),
      judgedS: this.clientLimit.judgedS + 1,
    }

    for (const guard of this.guards) {
      if (guard.config.vs === 'prefault' && !underFault) {
        // A span compares seconds under a fault only: one that was open when the fault ended is dropped.
        guard.spans.reset()
        continue
      }
      const closed = guard.spans.add(window)
      if (!closed) continue
      const decision = this.judgeSpan(guard, closed)
      outcome.decisions.push(decision)
      if (decision.action === 'rollback')
        outcome.rollback ??= { guard: guard.config.name, reason: decision.reason ?? 'tripped' }
    }
    return outcome
  }

  /** The step gate for `step`, `heldS` seconds past its planned end. */
  gateStep(step: number, heldS: number): GateDecision {
    // No second of this step has arrived yet (its windows wait on slow requests): what the guards hold
    // is the previous step's, so every guard waits, prefault ones included.
    const current = this.step === step
    const guards = current ? this.guards : this.guards.map((g) => ({ ...g, state: enterStep(g.state) }))
    const input = {
      guards,
      promoteAfter: this.config.promoteAfter,
      heldS,
      maxHoldS: this.config.maxHoldS,
      ...(current ? { clientLimit: this.clientLimit } : {}),
    }
    const applies = (name: string): boolean => {
      const guard = this.guards.find((g) => g.config.name === name)!
      return guard.config.vs !== 'prefault' || this.faultThisStep || !current
    }
    const outcome = gate(input, applies)
    // What the gate would have said had the dry-run guards acted too.
    const outcomeIfAllActed = gate(
      { ...input, guards: guards.map((g) => ({ ...g, config: { ...g.config, dryRun: false } })) },
      applies,
    )
    const at = this.options.now()
    const decisions = guards.map((guard): Decision => {
      const isDryRun = guard.config.dryRun
      const last = current ? guard.last : undefined
      return decisionRecord({
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
        action: isDryRun ? 'continue' : outcome.action,
        dryRun: isDryRun,
        reason: !isDryRun
          ? outcome.reason
          : outcomeIfAllActed.action === outcome.action
            ? `would have agreed: ${outcome.action}`
            : `would have ${pastTense(outcomeIfAllActed.action)}: ${outcomeIfAllActed.reason}`,
        evidence: last?.evidence ?? noEvidence(guard.config.require.limit),
        span: last?.span ?? { startS: 0, endS: 0 },
        ...(last?.baseline ? { baseline: last.baseline } : {}),
      })
    })
    return { ...outcome, decisions }
  }

  private enterStep(step: number): void {
    this.step = step
    this.faultThisStep = false
    this.clientLimit = { limitedS: 0, droppedS: 0, judgedS: 0 }
    for (const guard of this.guards) {
      guard.state = enterStep(guard.state)
      guard.spans.reset()
      delete guard.last
    }
  }

  /** A condition judged on a span: against its limit, or (baseline guards) against the baseline. */
  private judgeCondition(
    guard: LiveGuard,
    condition: Condition,
    stats: SampleStats,
  ): { evidence: Evidence; baseline?: ChangeBaseline } {
    if (!isChange(condition)) return { evidence: judgeMeasurement(condition, measure(condition.metric, stats)) }
    const baseline =
      guard.config.vs === 'prefault' ? this.prefaultBaseline : this.options.pastRuns?.(guard.config.runs).get(this.step)
    if (!baseline || baseline.stats.completed === 0) {
      const source =
        guard.config.vs === 'prefault'
          ? 'prefault: no judged second before the first fault'
          : `runs: no passing run of this scenario reached step ${this.step + 1}`
      return { evidence: noEvidence(condition.limit, stats.completed), baseline: { source, n: 0, estimate: null } }
    }
    const change = measureChange(condition, stats, baseline)
    return { evidence: judgeMeasurement(condition, change), baseline: change.baseline }
  }

  private judgeSpan(guard: LiveGuard, all: WindowReport[]): Decision {
    // A condition on one request of a mix (`p99{request=buy} < 1s`) judges that request's share.
    const request = 'request' in guard.config.require ? guard.config.require.request : undefined
    const windows = windowsOf(all, request) as WindowReport[]
    const stats = sampleStats(windows)
    const span = { startS: windows[0]!.index, endS: windows.at(-1)!.index + 1 }
    const main = this.judgeCondition(guard, guard.config.require, stats)
    // Lost agent data, or seconds the generator could not send on schedule, are never evidence of health.
    const unsound = unsoundData(stats)
    const soundOnly = (c: Evidence['confidence']): Evidence['confidence'] => (unsound ? neverPass(c) : c)
    const verdict = soundOnly(main.evidence.confidence)
    const clearVerdict = guard.state.tripped
      ? this.judgeCondition(guard, guard.config.clearRequire, stats).evidence.confidence
      : 'insufficient'
    const { state, event } = observeSpan(guard.config, guard.state, verdict, soundOnly(clearVerdict))
    guard.state = state
    guard.last = { evidence: main.evidence, span, ...(main.baseline ? { baseline: main.baseline } : {}) }
    const isDryRun = guard.config.dryRun
    let reason: string | undefined
    if (event === 'trip') {
      const fails = state.recent.filter((v) => v === 'fail').length
      const why =
        guard.config.kind === 'abort' ? 'a span failed' : `${fails} of the last ${state.recent.length} spans failed`
      reason = isDryRun
        ? `would have rolled back at ${clockText(span.endS)}: ${why}`
        : `${why} (at ${clockText(span.endS)})`
    } else if (event === 'clear')
      reason = `cleared after ${guard.config.clearK} passing spans at "${guard.config.clearRequire.source}"`
    else if (stats.generatorLimited)
      reason =
        'the load generator could not send on schedule (the client, not the target, was the limit): it cannot pass'
    else if (stats.degraded) reason = 'a lost agent left this span short: it cannot pass'
    return decisionRecord({
      at: this.options.now(),
      step: this.step,
      source: 'window',
      guard: guard.config.name,
      condition: guard.config.require.source,
      verdict,
      action: event === 'trip' && !isDryRun ? 'rollback' : 'continue',
      dryRun: isDryRun,
      ...(reason ? { reason } : {}),
      evidence: main.evidence,
      span,
      ...(main.baseline ? { baseline: main.baseline } : {}),
    })
  }
}

function prefaultOf(windows: readonly WindowReport[]): Baseline {
  const stats: SampleStats = sampleStats(windows)
  const seconds = windows.length > 0 ? `seconds ${windows[0]!.index}-${windows.at(-1)!.index}` : 'no seconds'
  return { source: `prefault: ${windows.length} judged second(s) before the first fault (${seconds})`, stats }
}

const pastTense = (action: GateOutcome['action']): string =>
  ({ advance: 'advanced', hold: 'held', rollback: 'rolled back', stop: 'stopped' })[action]

/** Run seconds as a clock: 192 -> 3m12s. */
function clockText(seconds: number): string {
  const m = Math.floor(seconds / 60)
  const s = seconds % 60
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}
