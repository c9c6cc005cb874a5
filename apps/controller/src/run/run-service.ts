import {
  GauntletError,
  scenarioPlan,
  type Decision,
  type FaultSpec,
  type RunSummary,
  type StepSummary,
  type WindowReport,
} from '@gauntlet/contracts'
import { randomBytes } from 'node:crypto'
import type { Scenario } from '../scenario/scenario.js'
import type { RunStatus, RunStore } from '../storage/run-store.js'
import { stepDecisions } from '../decision/step-decisions.js'
import { RunFaults } from '../faults/run-faults.js'
import { RunHooks } from '../hooks/run-hooks.js'
import { parseAllowList, type AllowList } from '@gauntlet/http'
import { LiveTimeline } from './live-timeline.js'
import { DecisionDriver } from './decision-driver.js'
import { RunTargetMetrics } from './run-target-metrics.js'
import type { Clock, FaultInjector, LoadAgent, LoadControl, LoadOutcome, RunObserver, TargetProbe } from './ports.js'
import { callbackGuard } from './callback-guard.js'
import { runWarnings } from './run-warnings.js'
import { judgeStep, type StepSpec } from './step-judge.js'
import { judgeGatedRun, judgeRun, type Rollback } from './verdict.js'

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
}

export interface RunRequest {
  scenario: Scenario
  yaml: string
  observer?: RunObserver
  /** Aborting stops the run; it is then judged on what it saw. */
  signal?: AbortSignal
}

type SummaryBody = Omit<RunSummary, 'runId' | 'status' | 'scenario' | 'target' | 'startedAt' | 'finishedAt'>

/**
 * One run from start to verdict: probe the target, drive the steps through the agent, store every
 * window as it arrives, judge each step once its windows are in (thresholds) and every evaluation
 * window as it closes (the decision section's guards, with the step gate timing ADVANCE, HOLD and
 * ROLLBACK), and store the summary. A rollback reverts faults first, then stops the load, then fires
 * the onRollback hooks.
 */
export async function executeRun(deps: RunDependencies, request: RunRequest): Promise<RunSummary> {
  const { scenario, observer } = request
  const runId = newRunId(deps.clock.now())
  const startedAt = deps.clock.now().toISOString()
  deps.store.createRun({
    id: runId,
    scenario: scenario.name,
    scenarioYaml: request.yaml,
    target: scenario.target.url,
    createdAt: startedAt,
  })
  observer?.started?.({ runId, steps: scenario.steps.length })

  const finish = (status: RunStatus, summary: SummaryBody): RunSummary => {
    const full: RunSummary = {
      runId,
      status,
      scenario: scenario.name,
      target: scenario.target.url,
      startedAt,
      finishedAt: deps.clock.now().toISOString(),
      ...summary,
    }
    deps.store.finishRun(runId, status, full)
    return full
  }

  const unreachable = await deps.probe(scenario.target.url, scenario.target.timeoutMs)
  if (unreachable) {
    return finish('error', {
      verdict: 'error',
      capacityRps: null,
      reasons: [`target unreachable before the first step: ${unreachable}`],
      warnings: [],
      steps: [],
    })
  }

  const timeline = new LiveTimeline(scenarioPlan(scenario), scenario.warmupS)
  const faultLines: string[] = []
  let load: LoadControl | undefined
  // Proxy delay catches only new connections: the run's own connections move to new sockets when it
  // starts (onto the proxy) and when it drains (off it, before it ends connections).
  const reconnectForProxy = (spec: FaultSpec): void => {
    if (spec.mechanism === 'proxy') load?.reconnect()
  }
  const faults = new RunFaults(
    runId,
    scenario.faults,
    timeline.specs().map((s) => s.startS),
    deps.faults,
    (line) => faultLines.push(line),
    reconnectForProxy,
  )
  try {
    // A fault that cannot run here (no netem, no such container) fails the run before any load.
    await faults.prepare()
  } catch (error) {
    if (!(error instanceof GauntletError)) throw error
    return finish('error', {
      verdict: 'error',
      capacityRps: null,
      reasons: [error.message],
      warnings: [],
      steps: [],
      faults: faults.records(),
    })
  }

  // The target's own series: its pre-load level first, then every second, then through the cooldown.
  const targetMetrics = scenario.targetMetrics
    ? new RunTargetMetrics(
        scenario.targetMetrics,
        scenario.decision?.leaks ?? [],
        () => deps.clock.now(),
        deps.targetAllow ?? parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW'),
      )
    : undefined
  await targetMetrics?.preLoad()

  const windowsByStep = new Map<number, WindowReport[]>()
  const steps: StepSummary[] = []
  const stop = new AbortController()
  let stoppedBy: string | undefined
  const onExternalAbort = (): void => {
    stoppedBy = 'run stopped before it finished'
    // No gate may hold, advance or roll back a run that is being stopped.
    driver?.halt()
    stop.abort()
  }
  const decisions: Decision[] = []
  const record = (decision: Decision): void => {
    decisions.push(decision)
    deps.store.saveDecision(runId, decision)
    observer?.decision?.(decision)
  }
  const hooks = new RunHooks(
    scenario.hooks,
    { run: runId, scenario: scenario.name },
    {
      allow: deps.hooks?.allow ?? parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW'),
      ...(deps.hooks?.graceMs !== undefined ? { graceMs: deps.hooks.graceMs } : {}),
    },
  )
  // Stopping the run cancels pending hooks at once, except onRollback and postRun (bounded by the grace).
  const stopHooks = (): void => hooks.stop()
  request.signal?.addEventListener('abort', stopHooks, { once: true })
  if (request.signal?.aborted) stopHooks()
  // A throw in any of this run's timers or callbacks ends this run as an error (with the reason), never the process.
  let failure: string | undefined
  const failRun = (where: string, error: unknown): void => {
    if (failure) return
    // A stated failure keeps its message; anything else is a bug whose text stays out of the stored run.
    failure = `the run failed while ${where}: ${error instanceof GauntletError ? error.message : 'internal error'}`
    driver?.halt()
    stop.abort()
  }
  const guarded = callbackGuard(failRun)
  const fireHook = (...args: Parameters<typeof hooks.fire>): void =>
    guarded(
      `firing the ${args[0]} hooks`,
      () => void hooks.fire(...args).catch((error: unknown) => failRun(`firing the ${args[0]} hooks`, error)),
    )()
  let rollback: (Rollback & { decisions: Decision[] }) | undefined
  // Fail-safe order: faults are reverted before the load stops; the hooks fire once both are done (below).
  const rollBack = async (step: number, reason: string, decided: Decision[], guard?: string): Promise<void> => {
    if (rollback) return
    rollback = { step, reason, at: deps.clock.now().toISOString(), decisions: decided, ...(guard ? { guard } : {}) }
    driver?.halt()
    await faults.stop(`rollback: ${reason}`)
    stop.abort()
  }
  const driver = scenario.decision
    ? new DecisionDriver({
        config: scenario.decision,
        scenario: scenario.name,
        timeline,
        store: deps.store,
        fireHook,
        now: () => deps.clock.now(),
        load: () => load,
        record,
        rollBack: (...args) => void rollBack(...args).catch((error: unknown) => failRun('rolling back', error)),
        fail: failRun,
      })
    : undefined
  const onAbortSafely = guarded('stopping the run', onExternalAbort)
  request.signal?.addEventListener('abort', onAbortSafely, { once: true })
  if (request.signal?.aborted) onExternalAbort()

  const judge = (spec: StepSpec): void => {
    const step = { ...judgeStep(spec, windowsByStep.get(spec.index) ?? [], scenario.thresholds), ...heldOf(spec) }
    steps.push(step)
    deps.store.saveStep(runId, step)
    observer?.step?.(step)
    const decided = stepDecisions(spec, step, scenario.onThresholdFail, deps.clock.now())
    for (const decision of decided) record(decision)
    // With a decision section the step gate promotes steps; thresholds can still stop the run.
    if (!driver && decided[0]?.action === 'advance') fireHook('onAdvance', { step: spec.index, decisions: decided })
    if (step.verdict === 'fail' && scenario.onThresholdFail === 'stop')
      rollBack(spec.index, `step ${spec.index + 1} failed its thresholds`, decided).catch((error: unknown) =>
        failRun('rolling back', error),
      )
  }
  const heldOf = (spec: StepSpec): Partial<StepSummary> => {
    const planned = scenario.steps[spec.index]?.durationS ?? spec.durationS
    return spec.durationS > planned ? { heldS: spec.durationS - planned } : {}
  }

  const stepTimers: NodeJS.Timeout[] = []
  let outcome: LoadOutcome
  try {
    outcome = await deps.agent.run(scenario, {
      runId,
      signal: stop.signal,
      onStart: guarded('starting the run', (epochMs: number) => {
        faults.start(epochMs)
        driver?.start(epochMs)
        targetMetrics?.start(epochMs)
        if (!driver && hooks.has('preStep')) {
          for (const spec of timeline.specs())
            stepTimers.push(
              setTimeout(
                () => fireHook('preStep', { step: spec.index }),
                Math.max(0, epochMs + spec.startS * 1000 - Date.now()),
              ),
            )
        }
      }),
      onControl: (control) => (load = control),
      onWindow: guarded('storing a window', (reported: WindowReport) => {
        const active = faults.activeDuring(reported.startedAt, reported.startedAt + 1000)
        const window = active.length > 0 ? { ...reported, faults: active } : reported
        deps.store.saveWindow(runId, window)
        const list = windowsByStep.get(window.step) ?? []
        list.push(window)
        windowsByStep.set(window.step, list)
        observer?.window?.(window)
        if (!rollback) driver?.onWindow(window)
        const spec = timeline.spec(window.step)
        if (spec && window.index === spec.startS + spec.durationS - 1 && !stop.signal.aborted) judge(spec)
      }),
    })
  } catch (error) {
    driver?.halt()
    targetMetrics?.stop()
    await faults.stop('the load failed')
    // No hook retries outlive the run: pending ones end now (onRollback/postRun within the grace).
    hooks.stop()
    const deliveries = await hooks.settled()
    request.signal?.removeEventListener('abort', stopHooks)
    // A known failure (agents refusing their orders, say) is the run's outcome; anything else is a bug.
    const reason = failure ?? (error instanceof GauntletError ? error.message : 'internal error in the load generator')
    const summary = finish('error', {
      verdict: 'error',
      capacityRps: null,
      reasons: [reason],
      warnings: faultLines,
      steps,
      ...(deliveries.length > 0 ? { hooks: deliveries } : {}),
      ...(faults.count > 0 ? { faults: faults.records() } : {}),
    })
    if (error instanceof GauntletError && error.code !== 'target_not_allowed') return summary
    throw error
  } finally {
    request.signal?.removeEventListener('abort', onAbortSafely)
    for (const timer of stepTimers) clearTimeout(timer)
  }
  driver?.halt()

  // Steps cut short by a stop are reported as aborted with what they measured.
  for (const spec of timeline.specs()) {
    if (!steps.some((s) => s.index === spec.index) && windowsByStep.has(spec.index)) {
      const step = {
        ...judgeStep(spec, windowsByStep.get(spec.index) ?? [], scenario.thresholds),
        ...heldOf(spec),
        verdict: 'aborted' as const,
      }
      steps.push(step)
      deps.store.saveStep(runId, step)
      observer?.step?.(step)
    }
  }

  // Every fault is reverted (and read back) before the run is judged and stored (a rollback did it already).
  await faults.stop(stoppedBy ?? outcome.stoppedBy ?? 'run ended')
  // A rollback during the load is announced now: faults are reverted and the load has stopped.
  const announce = (r: NonNullable<typeof rollback>): void =>
    fireHook('onRollback', {
      step: r.step,
      reason: r.reason,
      ...(r.guard ? { guard: r.guard } : {}),
      decisions: r.decisions,
    })
  if (rollback) announce(rollback)
  // Leak guards judge the target's series once the load is over and the cooldown has passed.
  const measured = targetMetrics
    ? await targetMetrics.finish(Math.max(0, ...steps.map((s) => s.index)), request.signal)
    : undefined
  if (measured) {
    for (const decision of measured.decisions) record(decision)
    deps.store.saveTargetSeries(runId, targetMetrics!.seriesPoints)
    if (measured.failed && !rollback) {
      const decided = measured.decisions.filter((d) => d.action === 'rollback')
      rollback = {
        step: decided[0]!.step,
        reason: measured.failed.reason,
        at: deps.clock.now().toISOString(),
        guard: measured.failed.guard,
        decisions: decided,
        afterLoad: true,
      }
      announce(rollback)
    }
  }
  stoppedBy ??= outcome.stoppedBy
  const plannedSteps = scenario.steps.length
  const thresholdJudgement = judgeRun(steps, plannedSteps, rollback && driver ? undefined : stoppedBy)
  const gated = driver
    ? judgeGatedRun(thresholdJudgement, {
        advanced: driver.advanced,
        rollback,
        plannedSteps,
        rps: scenario.steps.map((s) => s.rps),
        stoppedBy,
      })
    : thresholdJudgement
  // A leak guard that could not judge (no scrape before or after the load) leaves the run unproven.
  const unproven =
    gated.verdict === 'pass' && measured && measured.unjudged.length > 0
      ? { ...gated, verdict: 'error' as const, reasons: measured.unjudged }
      : gated
  // A run that failed inside (failRun) proves nothing, whatever it measured.
  const judgement = failure ? { ...unproven, verdict: 'error' as const, reasons: [failure] } : unproven
  const status: RunStatus =
    judgement.verdict === 'pass'
      ? 'passed'
      : judgement.verdict === 'fail'
        ? 'failed'
        : stoppedBy && !failure
          ? 'aborted'
          : 'error'
  const losses = outcome.agentLosses ?? []
  if (hooks.any) {
    // postRun carries the verdict; the summary records every delivery, so it waits (bounded by each hook's timeout and retries, and by the hook grace once the run is stopped).
    fireHook('postRun', { verdict: judgement.verdict, status })
  }
  const deliveries = await hooks.settled()
  request.signal?.removeEventListener('abort', stopHooks)
  const faultRecords = faults.records()
  return finish(status, {
    ...(deliveries.length > 0 ? { hooks: deliveries } : {}),
    ...judgement,
    warnings: [
      ...runWarnings({ deliveries, steps, losses, faultLines, faults: faultRecords }),
      ...(measured?.warnings ?? []),
      ...(outcome.warnings ?? []).map((w) => `DEGRADED: ${w}`),
    ],
    steps,
    ...(rollback && driver
      ? {
          rollback: {
            step: rollback.step,
            reason: rollback.reason,
            at: rollback.at,
            ...(rollback.guard ? { guard: rollback.guard } : {}),
          },
        }
      : {}),
    ...(faults.count > 0 ? { faults: faultRecords } : {}),
    ...(decisions.length > 0 ? { decisions } : {}),
    ...(measured ? { targetMetrics: measured.summaries } : {}),
    ...(outcome.agents ? { agents: outcome.agents } : {}),
    ...(losses.length > 0 || (outcome.warnings?.length ?? 0) > 0 ? { degraded: true } : {}),
    ...(losses.length > 0 ? { agentLosses: losses } : {}),
  })
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}
