import {
  GauntletError,
  scenarioPlan,
  type Decision,
  type FaultSpec,
  type HookDelivery,
  type HookPayload,
  type RootCause,
  type RunSummary,
  type WindowReport,
} from '@gauntlet/contracts'
import { movedOrTimedOut } from '@gauntlet/faults/documents'
import { parseAllowList, type AllowList } from '@gauntlet/http'
import { randomBytes } from 'node:crypto'
import { RunFaults } from '../faults/run-faults.js'
import { RunHooks } from '../hooks/run-hooks.js'
import { rootCausePlan } from '../report/root-cause-plan.js'
import type { ReportInput } from '../report/run-report.js'
import { runWarnings, tlsFailureLines } from '../report/run-warnings.js'
import { queryCredentials, scenarioSecrets, scrubSecrets } from '../security/redact.js'
import type { Scenario } from '../scenario/scenario.js'
import type { RunStatus, RunStore } from '../storage/run-store.js'
import { callbackGuard } from './callback-guard.js'
import { DecisionDriver } from './decision-driver.js'
import { LiveTimeline } from './live-timeline.js'
import type { Clock, FaultInjector, LoadAgent, LoadControl, LoadOutcome, RunObserver, TargetProbe } from './ports.js'
import { RunSteps, type JudgedStep } from './run-steps.js'
import { RunTargetMetrics, type TargetMetricsOutcome } from './run-target-metrics.js'
import { judgeRun, type Rollback, type RunJudgement } from './verdict.js'

export interface RunDependencies {
  store: RunStore
  agent: LoadAgent
  probe: TargetProbe
  clock: Clock
  /** Needed only by scenarios with faults. */
  faults?: FaultInjector
  /** GAUNTLET_HOOK_ALLOW and the grace onRollback/postRun get once a run is stopped (default: loopback, 10 s). */
  hooks?: { allow?: AllowList; graceMs?: number }
  /** GAUNTLET_TARGET_ALLOW, for targetMetrics scrapes (default: loopback). */
  targetAllow?: AllowList
  /** Where a run's HTML report can be opened (a controller's --public-url): alert hooks carry it. */
  reportUrl?: (runId: string) => string
  /**
   * The root cause alert hooks carry, from the run's stored windows: a controller makes it on its report
   * thread (it decodes every second of the run). Absent, it is made here.
   */
  rootCause?: (input: Omit<ReportInput, 'windows'>) => Promise<RootCause | null>
}

/** How long an alert waits for its root cause; past it, the alert goes without one. */
const rootCauseWaitMs = 15_000

export interface RunRequest {
  scenario: Scenario
  yaml: string
  observer?: RunObserver
  /** Aborting stops the run; it is then judged on what it saw. */
  signal?: AbortSignal
  /** An insufficient result fails the run (as the scenario's `decision.insufficient: fail`). */
  strict?: boolean
}

/** One run from start to verdict (see Run). */
export function executeRun(deps: RunDependencies, request: RunRequest): Promise<RunSummary> {
  return new Run(deps, request).execute()
}

type SummaryBody = Omit<RunSummary, 'runId' | 'status' | 'scenario' | 'target' | 'startedAt' | 'finishedAt'>
type RollbackRecord = Rollback & { decisions: Decision[] }

/**
 * One run, in phases: open (record it), probe the target, prepare the faults, load and judge (every
 * window stored as it arrives, each step judged at its end by its thresholds, every evaluation span by
 * the decision section's guards, with the step gate timing ADVANCE, HOLD and ROLLBACK), revert the
 * faults, judge the target's series (leak guards), notify (hooks), store the summary. A rollback
 * reverts faults first, then stops the load, then fires the onRollback hooks. A throw in any of the
 * run's timers or callbacks ends this run as an error (with the reason), never the process.
 */
class Run {
  private readonly id: string
  private readonly startedAt: string
  private readonly scenario: Scenario
  private readonly timeline: LiveTimeline
  private readonly steps: RunSteps
  private readonly faults: RunFaults
  /** What the faults had to say while they ran (warnings of the summary). */
  private readonly faultLines: string[] = []
  private readonly hooks: RunHooks
  private readonly targetMetrics: RunTargetMetrics | undefined
  private readonly driver: DecisionDriver | undefined
  private readonly decisions: Decision[] = []
  /** Stops the load: a stop, a rollback or a failure aborts it. */
  private readonly stopLoad = new AbortController()
  private readonly guarded: ReturnType<typeof callbackGuard>
  private readonly preStepTimers: NodeJS.Timeout[] = []
  private load: LoadControl | undefined
  private stoppedBy: string | undefined
  private failure: string | undefined
  private rollback: RollbackRecord | undefined
  /** How the load ended, once it has. */
  private loadOutcome: LoadOutcome | undefined
  /** Why the run's first TLS failure failed, as an agent met it (warnings name it beside the tls class). */
  private tlsFailure: string | undefined

  constructor(
    private readonly deps: RunDependencies,
    private readonly request: RunRequest,
  ) {
    const { scenario } = request
    this.scenario = scenario
    this.id = newRunId(deps.clock.now())
    this.startedAt = deps.clock.now().toISOString()
    this.timeline = new LiveTimeline(scenarioPlan(scenario), scenario.warmupS)
    this.steps = new RunSteps({
      timeline: this.timeline,
      plannedDurationsS: scenario.steps.map((s) => s.durationS),
      thresholds: scenario.thresholds,
      onThresholdFail: scenario.onThresholdFail,
      strict: request.strict === true || scenario.decision?.insufficient === 'fail',
      now: () => deps.clock.now(),
    })
    this.guarded = callbackGuard(this.fail)
    this.faults = this.runFaults()
    this.hooks = this.runHooks()
    this.targetMetrics = this.runTargetMetrics()
    this.driver = this.decisionDriver()
  }

  async execute(): Promise<RunSummary> {
    this.open()
    try {
      return await this.carryOut()
    } catch (error) {
      return this.crashed(error)
    }
  }

  private async carryOut(): Promise<RunSummary> {
    const unreachable = await this.probe()
    if (unreachable) return this.store('error', refused(`target unreachable before the first step: ${unreachable}`))
    const notReady = await this.prepareFaults()
    if (notReady) return this.store('error', { ...refused(notReady), faults: this.faults.records() })
    const loaded = await this.loadAndJudge()
    if ('error' in loaded) return this.loadFailed(loaded.error)
    await this.revert(loaded.outcome)
    const measured = await this.judgeTargetSeries()
    const judgement = this.verdict(loaded.outcome, measured)
    const deliveries = await this.notify(judgement, measured)
    return this.store(judgement.status, this.summary(judgement, loaded.outcome, measured, deliveries))
  }

  // ---- phases, in order

  private open(): void {
    this.deps.store.createRun({
      id: this.id,
      scenario: this.scenario.name,
      scenarioYaml: this.request.yaml,
      target: this.scenario.target.url,
      createdAt: this.startedAt,
    })
    this.request.observer?.started?.({ runId: this.id, steps: this.scenario.steps.length })
  }

  /** A reason when the target does not accept connections. */
  private probe(): Promise<string | undefined> {
    return this.deps.probe(this.scenario.target.url, this.scenario.target.timeoutMs)
  }

  /** A fault that cannot run here (no netem, no such container) fails the run before any load: its reason. */
  private async prepareFaults(): Promise<string | undefined> {
    try {
      await this.faults.prepare()
      return undefined
    } catch (error) {
      if (!(error instanceof GauntletError)) throw error
      return error.message
    }
  }

  /** The load from the first step to the last (or to a stop), every window judged as it arrives. */
  private async loadAndJudge(): Promise<{ outcome: LoadOutcome } | { error: unknown }> {
    // The target's own series: its pre-load level first, then every second, then through the cooldown.
    await this.targetMetrics?.preLoad()
    this.request.signal?.addEventListener('abort', this.stopHooks, { once: true })
    this.request.signal?.addEventListener('abort', this.onStopRequested, { once: true })
    if (this.request.signal?.aborted) {
      this.stopHooks()
      this.onStopRequested()
    }
    try {
      const outcome = await this.deps.agent.run(this.scenario, {
        runId: this.id,
        signal: this.stopLoad.signal,
        onStart: this.guarded('starting the run', (epochMs: number) => this.onLoadStart(epochMs)),
        onControl: (control) => (this.load = control),
        onWindow: this.guarded('storing a window', (window: WindowReport) => this.onWindow(window)),
        onWarning: (text) => this.request.observer?.warning?.(text),
      })
      this.driver?.halt()
      for (const step of this.steps.cutShort()) this.keepStep(step)
      return { outcome }
    } catch (error) {
      return { error }
    } finally {
      this.request.signal?.removeEventListener('abort', this.onStopRequested)
      for (const timer of this.preStepTimers) clearTimeout(timer)
    }
  }

  /** Every fault is reverted (and read back) before the run is judged; then a rollback is announced. */
  private async revert(outcome: LoadOutcome): Promise<void> {
    this.loadOutcome = outcome
    await this.faults.stop(this.stoppedBy ?? outcome.stoppedBy ?? 'run ended')
    // A rollback during the load is announced now: faults are reverted and the load has stopped.
    if (this.rollback) await this.announceRollback(this.rollback)
  }

  /** Leak guards judge the target's series once the load is over and the cooldown has passed. */
  private async judgeTargetSeries(): Promise<TargetMetricsOutcome | undefined> {
    if (!this.targetMetrics) return undefined
    const lastStep = Math.max(0, ...this.steps.observed.map((s) => s.index))
    const measured = await this.targetMetrics.finish(lastStep, this.request.signal)
    for (const decision of measured.decisions) this.record(decision)
    this.deps.store.saveTargetSeries(this.id, this.targetMetrics.seriesPoints)
    if (measured.failed && !this.rollback) {
      const decided = measured.decisions.filter((d) => d.action === 'rollback')
      this.rollback = {
        step: decided[0]!.step,
        reason: measured.failed.reason,
        at: this.deps.clock.now().toISOString(),
        guard: measured.failed.guard,
        decisions: decided,
        afterLoad: true,
      }
      await this.announceRollback(this.rollback, measured)
    }
    return measured
  }

  /** The verdict, in one place, and the status it gives the run. */
  private verdict(outcome: LoadOutcome, measured: TargetMetricsOutcome | undefined): Verdict {
    this.stoppedBy ??= outcome.stoppedBy
    const judgement = judgeRun({
      steps: this.steps.observed,
      plannedRps: this.scenario.steps.map((s) => s.rps),
      ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}),
      ...(this.driver ? { advanced: this.driver.advanced } : {}),
      ...(this.rollback ? { rollback: this.rollback } : {}),
      ...(measured ? { unjudged: measured.unjudged } : {}),
      ...(this.failure ? { failure: this.failure } : {}),
    })
    const status: RunStatus =
      judgement.verdict === 'pass'
        ? 'passed'
        : judgement.verdict === 'fail'
          ? 'failed'
          : this.stoppedBy && !this.failure
            ? 'aborted'
            : 'error'
    return { ...judgement, status }
  }

  /**
   * postRun carries the verdict; the summary records every delivery, so it waits for them (bounded by the hooks'
   * timeouts and retries, and by the hook grace once the run is stopped).
   */
  private async notify(judgement: Verdict, measured: TargetMetricsOutcome | undefined): Promise<HookDelivery[]> {
    if (this.hooks.has('postRun'))
      this.fireHook('postRun', {
        verdict: judgement.verdict,
        status: judgement.status,
        ...(await this.alertFields(judgement, measured)),
      })
    const deliveries = await this.hooks.settled()
    this.request.signal?.removeEventListener('abort', this.stopHooks)
    return deliveries
  }

  private store(status: RunStatus, body: SummaryBody): RunSummary {
    const summary: RunSummary = {
      runId: this.id,
      status,
      scenario: this.scenario.name,
      target: this.scenario.target.url,
      startedAt: this.startedAt,
      finishedAt: this.deps.clock.now().toISOString(),
      ...body,
    }
    this.deps.store.finishRun(this.id, status, summary)
    return summary
  }

  // ---- the load's events

  private onLoadStart(epochMs: number): void {
    this.faults.start(epochMs)
    this.driver?.start(epochMs)
    this.targetMetrics?.start(epochMs)
    // With a decision section the step gate announces each step; without, the plan does.
    if (this.driver || !this.hooks.has('preStep')) return
    for (const schedule of this.timeline.schedules()) {
      const dueMs = epochMs + schedule.startS * 1000 - Date.now()
      this.preStepTimers.push(setTimeout(() => this.fireHook('preStep', { step: schedule.index }), Math.max(0, dueMs)))
    }
  }

  private onWindow(reported: WindowReport): void {
    this.tlsFailure ??= reported.tlsFailure
    const active = this.faults.activeDuring(reported.startedAt, reported.startedAt + 1000)
    const window = active.length > 0 ? { ...reported, faults: active } : reported
    this.deps.store.saveWindow(this.id, window)
    this.steps.add(window)
    this.request.observer?.window?.(window)
    if (!this.rollback) this.driver?.onWindow(window)
    const ended = this.stopLoad.signal.aborted ? undefined : this.steps.endOf(window)
    if (ended) this.onStepJudged(ended)
  }

  private onStepJudged({ step, decisions }: JudgedStep): void {
    this.keepStep(step)
    for (const decision of decisions) this.record(decision)
    // With a decision section the step gate promotes steps; thresholds can still stop the run.
    if (!this.driver && decisions[0]?.action === 'advance') this.fireHook('onAdvance', { step: step.index, decisions })
    // A step without thresholds decides nothing, yet a client limit still ends a gate-less ramp there.
    const clientLimitStops = !this.driver && decisions.length === 0 && this.scenario.onThresholdFail === 'stop'
    if (decisions[0]?.action !== 'stop' && !(clientLimitStops && step.verdict === 'generator-limited')) return
    // The client was the limit: nothing to roll back, but nothing more to learn from a higher step.
    if (step.verdict === 'generator-limited') this.stopAtClientLimit(step.index, step.reason ?? step.verdict)
    else this.startRollback(step.index, `step ${step.index + 1} failed its thresholds`, decisions)
  }

  private keepStep(step: RunSteps['observed'][number]): void {
    this.steps.keep(step)
    this.request.observer?.step?.(step)
  }

  private readonly record = (decision: Decision): void => {
    this.decisions.push(decision)
    this.deps.store.saveDecision(this.id, decision)
    this.request.observer?.decision?.(decision)
  }

  // ---- stopping: a stop, a rollback, a failure

  /** Stopping the run cancels pending hooks at once, except onRollback and postRun (bounded by the grace). */
  private readonly stopHooks = (): void => this.hooks.stop()

  private readonly onStopRequested = (): void =>
    this.guarded('stopping the run', () => {
      this.stoppedBy = 'run stopped before it finished'
      // No gate may hold, advance or roll back a run that is being stopped.
      this.driver?.halt()
      this.stopLoad.abort()
    })()

  /** Fail-safe order: faults are reverted before the load stops; the hooks fire once both are done (revert). */
  private readonly startRollback = (step: number, reason: string, decided: Decision[], guard?: string): void => {
    if (this.rollback) return
    this.rollback = {
      step,
      reason,
      at: this.deps.clock.now().toISOString(),
      decisions: decided,
      ...(guard ? { guard } : {}),
    }
    this.driver?.halt()
    this.faults
      .stop(`rollback: ${reason}`)
      .then(() => this.stopLoad.abort())
      .catch((error: unknown) => this.fail('rolling back', error))
  }

  /**
   * The step gate found the load generator could not keep the plan: the run stops there, faults first,
   * and the step is judged generator-limited on what it saw (the verdict says why; no onRollback).
   */
  private readonly stopAtClientLimit = (step: number, reason: string): void => {
    this.driver?.halt()
    this.faults
      .stop(`step ${step + 1}: ${reason}`)
      .then(() => this.stopLoad.abort())
      .catch((error: unknown) => this.fail("stopping at the load generator's limit", error))
  }

  private async announceRollback(rollback: RollbackRecord, measured?: TargetMetricsOutcome): Promise<void> {
    if (!this.hooks.has('onRollback')) return
    const outcome = this.loadOutcome ?? { aborted: false, peakConnections: 0 }
    const alert = await this.alertFields(this.verdict(outcome, measured), measured)
    this.fireHook('onRollback', {
      step: rollback.step,
      reason: rollback.reason,
      ...(rollback.guard ? { guard: rollback.guard } : {}),
      decisions: rollback.decisions,
      ...alert,
    })
  }

  /**
   * What an alert hook carries beyond the event: the root cause of the run as it stands (from what it
   * stored, the same as its report will show) and where its report opens. A root cause that cannot be
   * made, or takes longer than rootCauseWaitMs, never holds up the alert beyond that.
   */
  private async alertFields(
    judgement: Verdict,
    measured: TargetMetricsOutcome | undefined,
  ): Promise<Partial<HookPayload>> {
    const reportUrl = this.deps.reportUrl?.(this.id)
    let rootCause: RootCause | null = null
    let timer: NodeJS.Timeout | undefined
    try {
      const outcome = this.loadOutcome ?? { aborted: false, peakConnections: 0 }
      const input = {
        runId: this.id,
        summary: {
          runId: this.id,
          status: judgement.status,
          scenario: this.scenario.name,
          target: this.scenario.target.url,
          startedAt: this.startedAt,
          finishedAt: this.deps.clock.now().toISOString(),
          ...this.summary(judgement, outcome, measured, []),
        },
        targetSeries: Object.fromEntries(this.targetMetrics?.seriesPoints ?? []),
        plan: rootCausePlan(this.scenario),
      }
      // The report and its root-cause rules (~20 modules) load here, for a hook that carries a root cause: a
      // run without postRun or onRollback hooks does not pay for them at start-up.
      const made = this.deps.rootCause
        ? this.deps.rootCause(input)
        : import('../report/run-report.js').then(
            ({ buildRunReport }) => buildRunReport({ ...input, windows: this.deps.store.windows(this.id) }).rootCause,
          )
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), rootCauseWaitMs)))
      const found = await Promise.race([made, late])
      rootCause =
        found &&
        scrubSecrets(found, [...scenarioSecrets(this.request.yaml), ...queryCredentials(this.scenario.target.url)])
    } catch {
      rootCause = null
    } finally {
      clearTimeout(timer)
    }
    return { ...(rootCause ? { rootCause } : {}), ...(reportUrl ? { reportUrl } : {}) }
  }

  private readonly fail = (where: string, error: unknown): void => {
    if (this.failure) return
    // A stated failure keeps its message; anything else is a bug whose text stays out of the stored run.
    this.failure = `the run failed while ${where}: ${error instanceof GauntletError ? error.message : 'internal error'}`
    this.driver?.halt()
    this.stopLoad.abort()
  }

  /** Fires a run's hooks without waiting; a failure to fire fails the run. */
  private fireHook(...args: Parameters<RunHooks['fire']>): void {
    const where = `firing the ${args[0]} hooks`
    this.guarded(where, () => void this.hooks.fire(...args).catch((error: unknown) => this.fail(where, error)))()
  }

  /** The load itself failed: the run ends as an error with what it saw. */
  /**
   * A phase threw what no phase expected (a storage error, a bug): the run still ends. Its faults are
   * reverted (they never outlive a run), its load and hooks stop, and it is stored as an error with a
   * reason that names no internal detail; the error goes on to the caller's log.
   */
  private async crashed(error: unknown): Promise<never> {
    this.driver?.halt()
    this.targetMetrics?.stop()
    this.stopLoad.abort()
    this.hooks.stop()
    await this.faults.stop('the run failed').catch(() => undefined)
    const known = this.failure ?? (error instanceof GauntletError ? error.message : undefined)
    try {
      this.store('error', { ...refused(known ?? 'internal error'), faults: this.faults.records() })
    } catch {
      // The store itself failed: the caller's log has the error; nothing more can be kept.
    }
    throw error
  }

  private async loadFailed(error: unknown): Promise<RunSummary> {
    this.driver?.halt()
    this.targetMetrics?.stop()
    await this.faults.stop('the load failed')
    // No hook retries outlive the run: pending ones end now (onRollback/postRun within the grace).
    this.hooks.stop()
    const deliveries = await this.hooks.settled()
    this.request.signal?.removeEventListener('abort', this.stopHooks)
    // A known failure (agents refusing their orders, say) is the run's outcome; anything else is a bug.
    const reason =
      this.failure ?? (error instanceof GauntletError ? error.message : 'internal error in the load generator')
    const summary = this.store('error', {
      verdict: 'error',
      capacityRps: null,
      reasons: [reason],
      warnings: this.faultLines,
      steps: this.steps.observed,
      ...(deliveries.length > 0 ? { hooks: deliveries } : {}),
      ...(this.faults.count > 0 ? { faults: this.faults.records() } : {}),
    })
    if (error instanceof GauntletError && error.code !== 'target_not_allowed') return summary
    throw error
  }

  // ---- the summary

  private summary(
    judgement: Verdict,
    outcome: LoadOutcome,
    measured: TargetMetricsOutcome | undefined,
    deliveries: HookDelivery[],
  ): SummaryBody {
    const losses = outcome.agentLosses ?? []
    const faults = this.faults.records()
    const rollback = this.driver ? this.rollback : undefined
    return {
      ...(deliveries.length > 0 ? { hooks: deliveries } : {}),
      verdict: judgement.verdict,
      capacityRps: judgement.capacityRps,
      // A step failing on TLS says why in the reasons too: the class alone does not tell what to fix.
      reasons:
        judgement.verdict === 'pass'
          ? judgement.reasons
          : [...judgement.reasons, ...tlsFailureLines(this.steps.observed, this.tlsFailure)],
      warnings: [
        ...runWarnings({
          deliveries,
          steps: this.steps.observed,
          losses,
          faultLines: this.faultLines,
          faults,
          tls: { insecure: this.scenario.target.tls?.insecure === true, failure: this.tlsFailure },
        }),
        ...(measured?.warnings ?? []),
        ...(outcome.warnings ?? []).map((w) => `DEGRADED: ${w}`),
      ],
      steps: this.steps.observed,
      ...(rollback
        ? {
            rollback: {
              step: rollback.step,
              reason: rollback.reason,
              at: rollback.at,
              ...(rollback.guard ? { guard: rollback.guard } : {}),
            },
          }
        : {}),
      ...(this.faults.count > 0 ? { faults } : {}),
      ...(this.decisions.length > 0 ? { decisions: this.decisions } : {}),
      ...(measured ? { targetMetrics: measured.summaries } : {}),
      ...(outcome.agents ? { agents: outcome.agents } : {}),
      ...(losses.length > 0 || (outcome.warnings?.length ?? 0) > 0 ? { degraded: true } : {}),
      ...(losses.length > 0 ? { agentLosses: losses } : {}),
    }
  }

  // ---- the run's parts

  private runFaults(): RunFaults {
    // Proxy delay catches only new connections: the run's own connections move to new sockets when it
    // starts (onto the proxy) and when it drains (off it, before it ends connections).
    // Bounded: a request in flight on an old socket may hang until its timeout; the proxy drains anyway then.
    const reconnectForProxy = async (spec: FaultSpec): Promise<void> => {
      if (spec.mechanism === 'proxy') await movedOrTimedOut(() => this.load?.reconnect())
    }
    return new RunFaults(
      this.id,
      this.scenario.faults,
      this.timeline.schedules().map((s) => s.startS),
      this.deps.faults,
      (line) => this.faultLines.push(line),
      reconnectForProxy,
    )
  }

  private runHooks(): RunHooks {
    const { hooks } = this.deps
    return new RunHooks(
      this.scenario.hooks,
      { run: this.id, scenario: this.scenario.name },
      {
        allow: hooks?.allow ?? parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW'),
        ...(hooks?.graceMs !== undefined ? { graceMs: hooks.graceMs } : {}),
      },
    )
  }

  private runTargetMetrics(): RunTargetMetrics | undefined {
    if (!this.scenario.targetMetrics) return undefined
    return new RunTargetMetrics(
      this.scenario.targetMetrics,
      this.scenario.decision?.leaks ?? [],
      () => this.deps.clock.now(),
      this.deps.targetAllow ?? parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW'),
    )
  }

  /** The step gate, for a decision section with guards (one that only sets `insufficient` has nothing to gate). */
  private decisionDriver(): DecisionDriver | undefined {
    const decision = this.scenario.decision
    if (!decision || (decision.guards.length === 0 && decision.leaks.length === 0)) return undefined
    return new DecisionDriver({
      config: decision,
      scenario: this.scenario.name,
      timeline: this.timeline,
      store: this.deps.store,
      fireHook: (...args) => this.fireHook(...args),
      now: () => this.deps.clock.now(),
      load: () => this.load,
      record: this.record,
      rollBack: this.startRollback,
      stop: this.stopAtClientLimit,
      fail: this.fail,
    })
  }
}

type Verdict = RunJudgement & { status: RunStatus }

/** A run refused before any load. */
function refused(reason: string): SummaryBody {
  return { verdict: 'error', capacityRps: null, reasons: [reason], warnings: [], steps: [] }
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}
