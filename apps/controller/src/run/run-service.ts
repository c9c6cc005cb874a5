import { buildTimeline } from '@gauntlet/agent'
import { GauntletError, type AgentLoss, type Decision, type FaultSpec, type RunSummary, type StepSummary, type WindowReport } from '@gauntlet/contracts'
import { randomBytes } from 'node:crypto'
import type { Scenario } from '../scenario/scenario.js'
import type { RunStatus, RunStore } from '../storage/run-store.js'
import { stepDecisions } from '../decision/step-decisions.js'
import { RunFaults } from '../faults/run-faults.js'
import { RunHooks } from '../hooks/run-hooks.js'
import { formatObserved } from '../report/format-values.js'
import type { Clock, FaultInjector, LoadAgent, LoadControl, LoadOutcome, RunObserver, TargetProbe } from './ports.js'
import { judgeStep, type StepSpec } from './step-judge.js'
import { judgeRun } from './verdict.js'

export interface RunDependencies {
  store: RunStore
  agent: LoadAgent
  probe: TargetProbe
  clock: Clock
  /** Needed only by scenarios with faults. */
  faults?: FaultInjector
}

export interface RunRequest {
  scenario: Scenario
  yaml: string
  observer?: RunObserver
  /** Aborting stops the run; it is then judged on what it saw. */
  signal?: AbortSignal
}

/**
 * One run from start to verdict: probe the target, drive the steps through the agent, store every
 * window as it arrives, judge each step once its windows are in, stop at the first failing step
 * (unless the scenario says continue), and store the summary.
 */
export async function executeRun(deps: RunDependencies, request: RunRequest): Promise<RunSummary> {
  const { scenario, observer } = request
  const runId = newRunId(deps.clock.now())
  const startedAt = deps.clock.now().toISOString()
  deps.store.createRun({ id: runId, scenario: scenario.name, scenarioYaml: request.yaml, target: scenario.target.url, createdAt: startedAt })
  observer?.started?.({ runId, steps: scenario.steps.length })

  const finish = (status: RunStatus, summary: Omit<RunSummary, 'runId' | 'status' | 'scenario' | 'target' | 'startedAt' | 'finishedAt'>): RunSummary => {
    const full: RunSummary = { runId, status, scenario: scenario.name, target: scenario.target.url, startedAt, finishedAt: deps.clock.now().toISOString(), ...summary }
    deps.store.finishRun(runId, status, full)
    return full
  }

  const unreachable = await deps.probe(scenario.target.url, scenario.target.timeoutMs)
  if (unreachable) {
    return finish('error', { verdict: 'error', capacityRps: null, reasons: [`target unreachable before the first step: ${unreachable}`], warnings: [], steps: [] })
  }

  const specs = stepSpecs(scenario)
  const faultWarnings: string[] = []
  let load: LoadControl | undefined
  // Proxy delay catches only new connections: the run's own connections move to new sockets when it
  // starts (onto the proxy) and when it drains (off it, before it ends connections).
  const reconnectForProxy = (spec: FaultSpec): void => {
    if (spec.mechanism === 'proxy') load?.reconnect()
  }
  const faults = new RunFaults(runId, scenario.faults, specs.map((s) => s.startS), deps.faults, (line) => faultWarnings.push(line), reconnectForProxy)
  try {
    // A fault that cannot run here (no netem, no such container) fails the run before any load.
    await faults.prepare()
  } catch (error) {
    if (!(error instanceof GauntletError)) throw error
    return finish('error', { verdict: 'error', capacityRps: null, reasons: [error.message], warnings: [], steps: [], faults: faults.records() })
  }

  const windowsByStep = new Map<number, WindowReport[]>()
  const steps: StepSummary[] = []
  const stop = new AbortController()
  let stoppedBy: string | undefined
  const onExternalAbort = (): void => {
    stoppedBy = 'run stopped before it finished'
    stop.abort()
  }
  request.signal?.addEventListener('abort', onExternalAbort, { once: true })
  if (request.signal?.aborted) onExternalAbort()

  const decisions: Decision[] = []
  const hooks = new RunHooks(scenario.hooks, { run: runId, scenario: scenario.name })
  const stepTimers: NodeJS.Timeout[] = []
  let rollback: { step: number; decisions: Decision[] } | undefined
  const judge = (spec: StepSpec): void => {
    const step = judgeStep(spec, windowsByStep.get(spec.index) ?? [], scenario.thresholds)
    steps.push(step)
    deps.store.saveStep(runId, step)
    observer?.step?.(step)
    const decided = stepDecisions(spec, step, scenario.onThresholdFail, deps.clock.now())
    for (const decision of decided) {
      decisions.push(decision)
      deps.store.saveDecision(runId, decision)
      observer?.decision?.(decision)
    }
    if (decided[0]?.action === 'advance') void hooks.fire('onAdvance', { step: spec.index, decisions: decided })
    // A rollback hook fires once faults are reverted and load has stopped (below).
    if (decided[0]?.action === 'stop') rollback ??= { step: spec.index, decisions: decided }
    if (step.verdict === 'fail' && scenario.onThresholdFail === 'stop') stop.abort()
  }

  let outcome: LoadOutcome
  try {
    outcome = await deps.agent.run(scenario, {
      runId,
      signal: stop.signal,
      onStart: (epochMs) => {
        faults.start(epochMs)
        if (hooks.has('preStep')) {
          for (const spec of specs) stepTimers.push(setTimeout(() => void hooks.fire('preStep', { step: spec.index }), Math.max(0, epochMs + spec.startS * 1000 - Date.now())))
        }
      },
      onControl: (control) => (load = control),
      onWindow: (reported) => {
        const active = faults.activeDuring(reported.startedAt, reported.startedAt + 1000)
        const window = active.length > 0 ? { ...reported, faults: active } : reported
        deps.store.saveWindow(runId, window)
        const list = windowsByStep.get(window.step) ?? []
        list.push(window)
        windowsByStep.set(window.step, list)
        observer?.window?.(window)
        const spec = specs[window.step]
        if (spec && window.index === spec.startS + spec.durationS - 1 && !stop.signal.aborted) judge(spec)
      },
    })
  } catch (error) {
    await faults.stop('the load failed')
    // A known failure (agents refusing their orders, say) is the run's outcome; anything else is a bug.
    const failure = error instanceof GauntletError ? error.message : 'internal error in the load generator'
    const summary = finish('error', { verdict: 'error', capacityRps: null, reasons: [failure], warnings: faultWarnings, steps, ...(faults.count > 0 ? { faults: faults.records() } : {}) })
    if (error instanceof GauntletError && error.code !== 'target_not_allowed') return summary
    throw error
  } finally {
    request.signal?.removeEventListener('abort', onExternalAbort)
    for (const timer of stepTimers) clearTimeout(timer)
  }

  // Steps cut short by a stop are reported as aborted with what they measured.
  for (const spec of specs) {
    if (!steps.some((s) => s.index === spec.index) && windowsByStep.has(spec.index)) {
      const step = { ...judgeStep(spec, windowsByStep.get(spec.index) ?? [], scenario.thresholds), verdict: 'aborted' as const }
      steps.push(step)
      deps.store.saveStep(runId, step)
      observer?.step?.(step)
    }
  }

  // Every fault is reverted (and read back) before the run is judged and stored.
  await faults.stop(stoppedBy ?? outcome.stoppedBy ?? 'run ended')
  if (rollback) void hooks.fire('onRollback', rollback)
  stoppedBy ??= outcome.stoppedBy
  const judgement = judgeRun(steps, specs.length, stoppedBy)
  const status: RunStatus = judgement.verdict === 'pass' ? 'passed' : judgement.verdict === 'fail' ? 'failed' : stoppedBy ? 'aborted' : 'error'
  const losses = outcome.agentLosses ?? []
  if (hooks.any) {
    // postRun carries the verdict; the summary records every delivery, so it waits (bounded by each hook's timeout and retries).
    void hooks.fire('postRun', { verdict: judgement.verdict, status })
  }
  const deliveries = await hooks.settled()
  return finish(status, {
    ...(deliveries.length > 0 ? { hooks: deliveries } : {}),
    ...judgement,
    warnings: [
      ...deliveries.filter((d) => !d.delivered).map((d) => `hook ${d.event} to ${d.url} was not delivered (${d.attempts.length} attempt(s); last: ${d.attempts.at(-1)?.error ?? `status ${d.attempts.at(-1)?.status}`})`),
      ...generatorWarnings(steps), ...evidenceWarnings(steps), ...losses.map(lossWarning), ...faultWarnings, ...faults.records().filter((f) => f.revertedAt !== null && !f.revertVerified).map((f) => `fault ${f.id} did not read back clean after its revert`)],
    steps,
    ...(faults.count > 0 ? { faults: faults.records() } : {}),
    ...(decisions.length > 0 ? { decisions } : {}),
    ...(outcome.agents ? { agents: outcome.agents } : {}),
    ...(losses.length > 0 ? { degraded: true, agentLosses: losses } : {}),
  })
}

/** A threshold met by the point estimate but not by its 95% bound: passed, but the data cannot vouch for it. */
function evidenceWarnings(steps: readonly StepSummary[]): string[] {
  return steps.flatMap((step) =>
    step.thresholds
      .filter((t) => t.pass && t.evidence?.confidence === 'insufficient')
      .map((t) => {
        const bound = (value: number | null): string => (value === null ? '?' : formatObserved(t.metric, value))
        return `step ${step.index + 1}: "${t.threshold}" passed on ${t.evidence!.n} samples, too few to be sure at 95% (bounds ${bound(t.evidence!.lower)} to ${bound(t.evidence!.upper)})`
      }),
  )
}

function lossWarning(loss: AgentLoss): string {
  const moved =
    loss.redistributedFrom === null
      ? 'its share was not moved'
      : `the other agents carried its share from second ${loss.redistributedFrom}${loss.notCarriedBy ? ` (except ${loss.notCarriedBy.join(', ')}, which could not take its part)` : ''}`
  return `DEGRADED: agent ${loss.agent} was lost (${loss.reason}) after window ${loss.lastWindow}; ${moved}; ${loss.gapWindows} window(s) lack its share`
}

/** The agent's own timeline of the steps, with the warmup the judge applies to each. */
export function stepSpecs(scenario: Scenario): StepSpec[] {
  return buildTimeline(scenario.steps).map(({ index, rps, startS, durationS }) => ({ index, rps, startS, durationS, warmupS: scenario.warmupS }))
}

function generatorWarnings(steps: readonly StepSummary[]): string[] {
  return steps
    .filter((s) => s.generatorLimited)
    .map(
      (s) =>
        `step ${s.index + 1} (${s.plannedRps} rps) was generator-limited: the load generator could not send on schedule (CPU, connections or event-loop lag), so its latency includes client-side queueing`,
    )
}

function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${stamp}-${randomBytes(3).toString('hex')}`
}
