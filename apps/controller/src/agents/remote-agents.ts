import { GauntletError, scenarioPlan, type AgentReport, type Assignment } from '@gauntlet/contracts'
import { callbackGuard } from '../run/callback-guard.js'
import type { LoadAgent, LoadOutcome } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'
import type { AgentWindowCommits } from '../storage/group-commit.js'
import type { AgentClient } from './agent-client.js'
import type { AgentInfo, AgentRegistry } from './agent-registry.js'
import { DistributedRun, type Redistribution } from './distributed-run.js'
import { splitPlan } from './rate-split.js'
import { checkReport } from './report-check.js'

/** Time from assignment to second 0: orders reach every agent and their connections warm up. */
const startLeadMs = 1_500
/** How often the run checks for agents that heartbeat but stopped reporting. */
const watchEveryMs = 250
/** After asking agents to stop, how long to wait for their last windows (by default). */
const defaultStopWaitMs = 8_000

/**
 * Runs a scenario on the remote agents that heartbeat: splits every step's rate by capacity, starts
 * them all on one timeline (second 0 = startAt on the controller's clock), merges their windows, and
 * handles the loss of an agent as the scenario's onAgentLoss says.
 */
export class RemoteAgents implements LoadAgent {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly client: AgentClient,
    /** Agents' windows are stored before the report is acknowledged: nothing acknowledged is lost to a crash. */
    private readonly commits: AgentWindowCommits,
    private readonly now: () => number = Date.now,
    /** After a stop, how long the run waits for agents' last windows: within the controller's --hook-grace. */
    private readonly stopWaitMs = defaultStopWaitMs,
  ) {}

  get available(): AgentInfo[] {
    return this.registry.available()
  }

  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): Promise<LoadOutcome> {
    const { runId, onWindow, signal } = options
    const agents = this.registry.available()
    if (agents.length === 0) throw new GauntletError('conflict', 'no agent is connected to this controller')
    const capacity = agents.reduce((sum, a) => sum + a.capacityRps, 0)
    const busiest = Math.max(...scenario.steps.map((s) => s.rps))
    if (busiest > capacity) {
      throw new GauntletError(
        'conflict',
        `the busiest step asks ${busiest} rps but the ${agents.length} agent(s) offer ${capacity} rps in total (raise --capacity or add agents)`,
      )
    }
    const plan = scenarioPlan(scenario)
    const shares = splitPlan(
      plan,
      agents.map((a) => a.capacityRps),
    )
    const startAt = this.now() + startLeadMs
    const urls = new Map(agents.map((a) => [a.name, a.url]))
    let stoppedBy: string | undefined
    let settle!: () => void
    const settled = new Promise<void>((resolve) => (settle = resolve))
    const session = new DistributedRun(
      plan,
      agents.map((a) => ({ name: a.name, capacityRps: a.capacityRps })),
      startAt,
      onWindow,
    )
    const check = (): void => {
      if (session.finished) settle()
    }
    // A throw in any timer, listener or report of this run ends this run as an error, never the process.
    let failure: GauntletError | undefined
    const failRun = (where: string, error: unknown): void => {
      if (failure) return
      failure = new GauntletError(
        'internal',
        `the run failed while ${where}: ${error instanceof GauntletError ? error.message : 'internal error'}`,
        { cause: error },
      )
      try {
        session.stop()
      } catch {
        // Merging is what failed: the run ends with what it stored.
      }
      for (const name of session.agentNames) void this.client.stop(urls.get(name)!, runId)
      settle()
    }
    const guarded = callbackGuard(failRun)
    /** Agents' reports that were refused, one line each (the run is degraded by them). */
    const refusals: string[] = []

    let stopDeadline: NodeJS.Timeout | undefined
    const stopAll = (reason?: string): void => {
      stoppedBy ??= reason
      session.stop()
      for (const name of session.agentNames) void this.client.stop(urls.get(name)!, runId)
      // An agent that heartbeats but never reports its end must not hold the run open.
      stopDeadline ??= setTimeout(settle, this.stopWaitMs)
      check()
    }
    // Losses in the same turn of the event loop (a sweep finding several silent agents) are
    // redistributed once: each survivor gets one replan with its final share, not one per loss.
    let pending: { lost: string[]; moves: Redistribution } | undefined
    const lose = (name: string, reason: string): void => {
      const redistribution = session.lose(name, reason, this.now(), scenario.onAgentLoss === 'redistribute')
      this.registry.release(name, runId)
      void this.client.stop(urls.get(name)!, runId)
      if (scenario.onAgentLoss === 'abort')
        stopAll(`agent ${name} was lost (${reason}) and the scenario says onAgentLoss: abort`)
      else if (redistribution) {
        if (!pending) {
          setImmediate(() => {
            const batch = pending!
            pending = undefined
            this.redistribute(runId, batch.lost, urls, session, batch.moves).catch((error: unknown) =>
              failRun("moving a lost agent's share", error),
            )
          })
        }
        pending = { lost: [...(pending?.lost ?? []), name], moves: redistribution }
      }
      check()
    }
    const onLost = guarded('handling a lost agent', (name: string): void => {
      if (urls.has(name)) lose(name, 'no heartbeat for 3 s')
    })

    // A refused report: counted against the run (once per agent), and the agent is not trusted with the rest of it.
    const refusedAgents = new Set<string>()
    const refuse = (agent: string, problem: string): void => {
      if (refusedAgents.has(agent)) return
      refusedAgents.add(agent)
      refusals.push(`agent ${agent} sent an invalid report, refused (${problem})`)
      guarded("refusing an agent's report", () => lose(agent, `it sent an invalid report: ${problem}`))()
    }
    const receive = async (agent: string, report: AgentReport): Promise<void> => {
      if (!session.has(agent)) throw new GauntletError('conflict', `agent ${agent} has no part in run ${runId}`)
      // Checked before anything is stored or merged: a window that fails is never counted.
      const problems = checkReport(report.windows, {
        stepsAt: (index) => session.stepsAt(index),
        delivered: (index) => session.pending(agent, index) ?? this.commits.delivered(runId, agent, index),
      })
      if (problems.length > 0) {
        const first = `${problems[0]!.path}: ${problems[0]!.message}`
        refuse(agent, `${first}${problems.length > 1 ? `, and ${problems.length - 1} more problem(s)` : ''}`)
        throw new GauntletError('usage', `report from agent ${agent} refused: ${first}`, { problems })
      }
      if (report.windows.length > 0) await this.commits.save(runId, agent, report.windows)
      guarded("merging an agent's report", () => {
        if (session.ingest(agent, report) === 'ended-early')
          lose(agent, `its load ended early${report.done?.aborted ? ' (aborted)' : ''}`)
        check()
      })()
      if (failure) throw failure
    }
    this.registry.attachRun(runId, {
      report: receive,
      refuse: (agent, problem) => {
        if (session.has(agent)) refuse(agent, problem)
      },
    })
    this.registry.on('lost', onLost)
    for (const agent of agents) this.registry.assign(agent.name, runId)
    const watch = setInterval(
      guarded('watching for silent agents', () => {
        for (const name of session.overdue(this.now(), scenario.target.timeoutMs + 5_000))
          lose(name, 'stopped reporting windows')
        check()
      }),
      watchEveryMs,
    )
    const onAbort = guarded('stopping the load', () => stopAll())
    signal.addEventListener('abort', onAbort, { once: true })

    try {
      const orders = await Promise.allSettled(
        agents.map((agent, i) => this.client.assign(agent.url, assignmentFor(runId, scenario, shares[i]!, startAt))),
      )
      const refused = orders.flatMap((o, i) =>
        o.status === 'rejected' ? [`${agents[i]!.name}: ${(o.reason as Error).message}`] : [],
      )
      if (refused.length > 0) {
        stopAll()
        throw new GauntletError(
          'conflict',
          `not every agent took its assignment, so the run did not start: ${refused.join('; ')}`,
        )
      }
      if (signal.aborted) onAbort()
      options.onControl?.({
        // Proxy faults run on the controller's host only; remote agents' connections are their own.
        reconnect: () => {},
        // A step gate's hold: every agent gets its share of the new plan; any refusal fails the hold.
        replan: async (fromS, tail) => {
          const moves = session.replan(
            fromS,
            tail.map((entry, i) => ({ ...entry, step: entry.step ?? i })),
          )
          if (!moves) return false
          const accepted = await Promise.all(
            moves.tails.map(({ agent, steps }) => this.client.replan(urls.get(agent)!, runId, { fromS, steps })),
          )
          return accepted.every(Boolean)
        },
      })
      options.onStart?.(startAt)
      // Every window merged, or after a stop every agent done or lost (waiting at most stopWaitMs).
      await settled
      if (failure) throw failure
      return {
        aborted: stoppedBy !== undefined || signal.aborted,
        peakConnections: session.peakConnections,
        agents: agents.map((a) => ({ name: a.name, capacityRps: a.capacityRps })),
        agentLosses: session.losses,
        ...(stoppedBy ? { stoppedBy } : {}),
        ...(refusals.length > 0 ? { warnings: refusals } : {}),
      }
    } finally {
      clearInterval(watch)
      clearTimeout(stopDeadline)
      signal.removeEventListener('abort', onAbort)
      this.registry.off('lost', onLost)
      this.registry.detachRun(runId)
      for (const agent of agents) this.registry.release(agent.name, runId)
    }
  }

  private async redistribute(
    runId: string,
    lost: readonly string[],
    urls: Map<string, string>,
    session: DistributedRun,
    moves: Redistribution,
  ): Promise<void> {
    await Promise.all(
      moves.tails.map(async ({ agent, steps }) => {
        if (!(await this.client.replan(urls.get(agent)!, runId, { fromS: moves.fromS, steps })))
          for (const name of lost) session.notCarried(name, agent)
      }),
    )
  }
}

function assignmentFor(runId: string, scenario: Scenario, steps: Assignment['steps'], startAt: number): Assignment {
  const { url, method, headers, body, timeoutMs, expectStatus } = scenario.target
  return {
    runId,
    target: {
      url,
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeoutMs,
      ...(expectStatus !== undefined ? { expectStatus } : {}),
    },
    steps,
    ...(scenario.connections !== undefined ? { connections: scenario.connections } : {}),
    maxConnections: scenario.maxConnections,
    startAt,
  }
}
