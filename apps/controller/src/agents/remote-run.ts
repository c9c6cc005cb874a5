import {
  GauntletError,
  scenarioPlan,
  type AgentReport,
  type Assignment,
  type PlannedStep,
  type WindowReport,
} from '@gauntlet/contracts'
import type { LatencyCounts } from '@gauntlet/metrics'
import { callbackGuard } from '../run/callback-guard.js'
import type { LoadAgent, LoadOutcome } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'
import type { AgentClient } from './agent-client.js'
import type { AgentInfo, AgentRegistry } from './agent-registry.js'
import { DistributedRun, type Redistribution } from './distributed-run.js'
import { IndexSet } from './index-set.js'
import { splitPlan } from './rate-split.js'
import { reportProblems, runProblems } from './report-check.js'
import { requestWire, targetWire } from './request-wire.js'
import type { WindowIntake } from './window-intake.js'

/** Time from assignment to second 0: orders reach every agent and their connections warm up. */
const startLeadMs = 1_500
/** How often the run checks for agents that heartbeat but stopped reporting. */
const watchEveryMs = 250

/** What a remote run uses of its controller (see RemoteAgents). */
export interface RemoteRunContext {
  registry: AgentRegistry
  client: AgentClient
  /** Agents' windows are checked and stored there before a report is acknowledged. */
  commits: WindowIntake
  now: () => number
  stopWaitMs: number
}

type RunOptions = Parameters<LoadAgent['run']>[1]

/**
 * One scenario run on remote agents, from assignment to the last merged window: it assigns each agent
 * its share, takes their reports (checked, stored, merged), watches for agents lost or silent, and
 * stops them all when asked. Every callback it hands out is guarded: a throw ends this run, not the
 * process.
 */
export class RemoteRun {
  private readonly runId: string
  private readonly startAt: number
  private readonly shares: PlannedStep[][]
  private readonly urls: Map<string, string>
  private readonly session: DistributedRun
  private readonly settled: Promise<void>
  private settle!: () => void
  private readonly guarded = callbackGuard((where, error) => this.fail(where, error))
  private failure: GauntletError | undefined
  private stoppedBy: string | undefined
  private stopDeadline: NodeJS.Timeout | undefined
  private watch: NodeJS.Timeout | undefined
  /** Agents' reports that were refused, one line each (the run is degraded by them). */
  private readonly refusals: string[] = []
  private readonly refusedAgents = new Set<string>()
  /** The windows each agent has stored in this run (committed or being committed). */
  private readonly stored = new Map<string, IndexSet>()
  /** Losses of one turn of the event loop, redistributed together (see lose). */
  private pendingLosses: { lost: string[]; moves: Redistribution } | undefined

  constructor(
    private readonly context: RemoteRunContext,
    private readonly scenario: Scenario,
    private readonly options: RunOptions,
    private readonly agents: readonly AgentInfo[],
  ) {
    this.runId = options.runId
    const plan = scenarioPlan(scenario)
    this.shares = splitPlan(
      plan,
      agents.map((a) => a.capacityRps),
    )
    this.startAt = context.now() + startLeadMs
    this.urls = new Map(agents.map((a) => [a.name, a.url]))
    this.settled = new Promise<void>((resolve) => (this.settle = resolve))
    this.session = new DistributedRun(
      plan,
      agents.map((a) => ({ name: a.name, capacityRps: a.capacityRps })),
      this.startAt,
      (window: WindowReport) => options.onWindow(window),
    )
  }

  /** Runs to the end: every window merged or, after a stop, every agent done or lost (waiting at most stopWaitMs). */
  async execute(): Promise<LoadOutcome> {
    this.attach()
    try {
      await this.assignAll()
      if (this.options.signal.aborted) this.onAbort()
      this.options.onControl?.({
        // A proxy delay catches new connections only: every agent of the run moves its own (on and off it).
        reconnect: () => this.reconnectAll(),
        replan: (fromS, tail) => this.replanAll(fromS, tail),
      })
      this.options.onStart?.(this.startAt)
      await this.settled
      if (this.failure) throw this.failure
      return this.outcome()
    } finally {
      this.detach()
    }
  }

  // --- lifecycle -------------------------------------------------------------------------------

  private attach(): void {
    const { registry } = this.context
    registry.attachRun(this.runId, {
      report: (agent, report) => this.receive(agent, report),
      refuse: (agent, problem) => {
        if (this.session.has(agent)) this.refuse(agent, problem)
      },
    })
    registry.on('lost', this.onLost)
    for (const agent of this.agents) registry.assign(agent.name, this.runId)
    this.watch = setInterval(this.watchSilentAgents, watchEveryMs)
    this.options.signal.addEventListener('abort', this.onAbort, { once: true })
  }

  private detach(): void {
    const { registry } = this.context
    clearInterval(this.watch)
    clearTimeout(this.stopDeadline)
    this.options.signal.removeEventListener('abort', this.onAbort)
    registry.off('lost', this.onLost)
    registry.detachRun(this.runId)
    for (const agent of this.agents) registry.release(agent.name, this.runId)
  }

  /** Sends every agent its assignment; if any refuses, the run stops before it starts. */
  private async assignAll(): Promise<void> {
    const orders = await Promise.allSettled(
      this.agents.map((agent, i) =>
        this.context.client.assign(
          agent.url,
          this.assignment(this.shares[i]!, { index: i, count: this.agents.length }),
        ),
      ),
    )
    const refused = orders.flatMap((o, i) =>
      o.status === 'rejected' ? [`${this.agents[i]!.name}: ${(o.reason as Error).message}`] : [],
    )
    if (refused.length === 0) return
    this.stopAll()
    throw new GauntletError(
      'conflict',
      `not every agent took its assignment, so the run did not start: ${refused.join('; ')}`,
    )
  }

  private assignment(steps: PlannedStep[], slot: { index: number; count: number }): Assignment {
    const { method, timeoutMs, expectStatus, expectBodyContains, expectHeader, followRedirects, tls } =
      this.scenario.target
    return {
      runId: this.runId,
      target: {
        // What each send makes is in the mix: the target is where the connections go.
        ...targetWire(this.scenario),
        method,
        timeoutMs,
        ...(expectStatus !== undefined ? { expectStatus } : {}),
        ...(expectBodyContains !== undefined ? { expectBodyContains } : {}),
        ...(expectHeader !== undefined ? { expectHeader } : {}),
        ...(followRedirects !== undefined ? { followRedirects } : {}),
        // PEM contents (read by the controller): the agents read no files of the scenario.
        ...(tls !== undefined ? { tls } : {}),
      },
      ...requestWire(this.scenario, slot),
      steps,
      ...(this.scenario.connections !== undefined ? { connections: this.scenario.connections } : {}),
      maxConnections: this.scenario.maxConnections,
      startAt: this.startAt,
    }
  }

  /** A step gate's hold: every agent gets its share of the new plan; any refusal fails the hold. */
  private async reconnectAll(): Promise<void> {
    await Promise.all(this.session.agentNames.map((name) => this.context.client.reconnect(this.url(name), this.runId)))
  }

  private async replanAll(fromS: number, tail: PlannedStep[]): Promise<boolean> {
    const moves = this.session.replan(fromS, tail)
    if (!moves) return false
    const accepted = await Promise.all(
      moves.tails.map(({ agent, steps }) => this.context.client.replan(this.url(agent), this.runId, { fromS, steps })),
    )
    return accepted.every(Boolean)
  }

  private outcome(): LoadOutcome {
    return {
      aborted: this.stoppedBy !== undefined || this.options.signal.aborted,
      peakConnections: this.session.peakConnections,
      agents: this.agents.map((a) => ({ name: a.name, capacityRps: a.capacityRps })),
      agentLosses: this.session.losses,
      ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}),
      ...(this.refusals.length > 0 ? { warnings: this.refusals } : {}),
    }
  }

  private checkFinished(): void {
    if (this.session.finished) this.settle()
  }

  /** A throw in any timer, listener or report of this run ends this run as an error, never the process. */
  private fail(where: string, error: unknown): void {
    if (this.failure) return
    this.failure = new GauntletError(
      'internal',
      `the run failed while ${where}: ${error instanceof GauntletError ? error.message : 'internal error'}`,
      { cause: error },
    )
    try {
      this.session.stop()
    } catch {
      // Merging is what failed: the run ends with what it stored.
    }
    this.stopAgents()
    this.settle()
  }

  private readonly onAbort = this.guarded('stopping the load', () => this.stopAll())

  private stopAll(reason?: string): void {
    this.stoppedBy ??= reason
    this.session.stop()
    this.stopAgents()
    // An agent that heartbeats but never reports its end must not hold the run open.
    this.stopDeadline ??= setTimeout(this.settle, this.context.stopWaitMs)
    this.checkFinished()
  }

  private stopAgents(): void {
    for (const name of this.session.agentNames) void this.context.client.stop(this.url(name), this.runId)
  }

  private url(agent: string): string {
    return this.urls.get(agent)!
  }

  // --- lost agents -----------------------------------------------------------------------------

  private readonly onLost = this.guarded('handling a lost agent', (name: string): void => {
    if (this.urls.has(name)) this.lose(name, 'no heartbeat for 3 s')
  })

  private readonly watchSilentAgents = this.guarded('watching for silent agents', () => {
    const silent = this.session.overdue(this.context.now(), this.scenario.target.timeoutMs + 5_000)
    for (const name of silent) this.lose(name, 'stopped reporting windows')
    this.checkFinished()
  })

  private lose(name: string, reason: string): void {
    const { onAgentLoss } = this.scenario
    const redistribution = this.session.lose(name, reason, this.context.now(), onAgentLoss === 'redistribute')
    this.context.registry.release(name, this.runId)
    void this.context.client.stop(this.url(name), this.runId)
    if (onAgentLoss === 'abort')
      this.stopAll(`agent ${name} was lost (${reason}) and the scenario says onAgentLoss: abort`)
    else if (redistribution) this.queueRedistribution(name, redistribution)
    this.checkFinished()
  }

  /**
   * Losses in the same turn of the event loop (a sweep finding several silent agents) are
   * redistributed once: each survivor gets one replan with its final share, not one per loss.
   */
  private queueRedistribution(lost: string, moves: Redistribution): void {
    if (!this.pendingLosses) {
      setImmediate(() => {
        const batch = this.pendingLosses!
        this.pendingLosses = undefined
        this.redistribute(batch.lost, batch.moves).catch((error: unknown) =>
          this.fail("moving a lost agent's share", error),
        )
      })
    }
    this.pendingLosses = { lost: [...(this.pendingLosses?.lost ?? []), lost], moves }
  }

  private async redistribute(lost: readonly string[], moves: Redistribution): Promise<void> {
    await Promise.all(
      moves.tails.map(async ({ agent, steps }) => {
        if (!(await this.context.client.replan(this.url(agent), this.runId, { fromS: moves.fromS, steps })))
          for (const name of lost) this.session.notCarried(name, agent)
      }),
    )
  }

  // --- reports ---------------------------------------------------------------------------------

  /** A refused report: counted against the run (once per agent), and the agent is not trusted with the rest of it. */
  private refuse(agent: string, problem: string): void {
    if (this.refusedAgents.has(agent)) return
    this.refusedAgents.add(agent)
    const warning = `agent ${agent} sent an invalid report, refused (${problem})`
    this.refusals.push(warning)
    this.options.onWarning?.(warning)
    this.guarded("refusing an agent's report", () => this.lose(agent, `it sent an invalid report: ${problem}`))()
  }

  private async receive(agent: string, report: AgentReport): Promise<void> {
    if (!this.session.has(agent)) throw new GauntletError('conflict', `agent ${agent} has no part in run ${this.runId}`)
    const latency = report.windows.length > 0 ? await this.checkAndStore(agent, report) : []
    this.guarded("merging an agent's report", () => {
      // The check's decodes are what is merged: no window is decoded twice.
      const ended = this.session.ingest(agent, report, (window) => latency[report.windows.indexOf(window)])
      const stoppedBy = report.done?.stoppedBy
      // A unique data set that ran out on one agent ends the run's traffic everywhere, for that reason.
      if (stoppedBy !== undefined) this.stopAll(`agent ${agent}: ${stoppedBy}`)
      else if (ended === 'ended-early')
        this.lose(
          agent,
          report.done?.failure !== undefined
            ? `its load failed: ${report.done.failure}`
            : `its load ended early${report.done?.aborted ? ' (aborted)' : ''}`,
        )
      this.checkFinished()
    })()
    if (this.failure) throw this.failure
  }

  /**
   * Checked before anything is stored or merged, and stored before the report is acknowledged: a window
   * that fails is never counted, one that is acknowledged is never lost. What the run knows (steps,
   * deliveries) is checked here; each window on its own, and the storing, in the intake (off this thread).
   * Returns each window's latency for the merge, from the check's decode.
   */
  private async checkAndStore(agent: string, report: AgentReport): Promise<Array<LatencyCounts | undefined>> {
    const requestNames = this.scenario.perRequest ? this.scenario.requests.map((r) => r.name) : undefined
    const run = runProblems(report.windows, {
      stepsAt: (index) => this.session.stepsAt(index),
      // The store is asked only about a window this agent did store: a new window costs no query.
      delivered: (index) =>
        this.session.pending(agent, index) ??
        (this.stored.get(agent)?.has(index) ? this.context.commits.delivered(this.runId, agent, index) : undefined),
      ...(requestNames ? { requestNames } : {}),
    })
    const store = run.every((found) => 'problems' in found && found.problems.length === 0)
    if (store) {
      const stored = this.stored.get(agent) ?? new IndexSet()
      this.stored.set(agent, stored)
      for (const window of report.windows) stored.add(window.index)
    }
    const intake = await this.context.commits.take({
      runId: this.runId,
      agent,
      windows: report.windows,
      ...(requestNames ? { requestNames } : {}),
      store,
    })
    const problems = reportProblems(report.windows, run, (i) => intake.own[i]!)
    if (problems.length === 0) return intake.latency
    const first = `${problems[0]!.path}: ${problems[0]!.message}`
    this.refuse(agent, `${first}${problems.length > 1 ? `, and ${problems.length - 1} more problem(s)` : ''}`)
    throw new GauntletError('usage', `report from agent ${agent} refused: ${first}`, { problems })
  }
}
