import {
  agentLostAfterMs,
  GauntletError,
  maxHeartbeatRuns,
  type AgentReport,
  type FaultInventory,
  type Heartbeat,
  type HeartbeatReply,
} from '@gauntlet/contracts'
import { EventEmitter } from 'node:events'
import { defaultLimits } from '../config/controller-settings.js'
import type { AgentStore } from '../storage/run-store.js'

type AgentState = 'ready' | 'busy' | 'lost'

export interface AgentInfo {
  name: string
  url: string
  capacityRps: number
  version: string
  state: AgentState
  registeredAt: string
  lastHeartbeatAt: string
  /** Runs the controller has assigned to it. */
  runs: string[]
  /** Runs the agent said it is loading in its last heartbeat. */
  reportedRuns: string[]
  /** Its estimate of the controller's clock, and how sure it is (absent until it has measured one). */
  clock?: { offsetMs: number; uncertaintyMs: number }
  /** Started with --docker: it can inject faults, and this is what its Docker engine runs. */
  faults?: FaultInventory
}

interface KnownAgent extends Omit<AgentInfo, 'state' | 'runs' | 'lastHeartbeatAt'> {
  lastHeartbeatMs: number
  lost: boolean
  runs: Set<string>
}

/** Where a run in progress takes its agents' reports: the well-formed ones, and word of malformed ones. */
interface ReportSink {
  report(agent: string, report: AgentReport): Promise<void> | void
  /** An agent sent this run a report the schema refuses: the run treats it like a report that fails its checks. */
  refuse(agent: string, problem: string): void
}

interface AgentRegistryOptions {
  /** Silence after which an agent is lost. */
  lostAfterMs?: number
  /** Agents known at once, lost ones included (--max-agents): a new name beyond it is refused. */
  maxAgents?: number
  /** A lost agent is forgotten (here and in the store) after this much silence. */
  expireAfterMs?: number
}

/** Runs in progress with faults held by the named agent (the faults router knows them). */
export type FaultRunsOf = (agent: string) => string[]

/**
 * The agents this controller knows: registered by their heartbeats (at most maxAgents of them),
 * declared lost after agentLostAfterMs of silence ('lost' event), forgotten after expireAfterMs, and
 * the route from an agent's reports to its run.
 */
export class AgentRegistry extends EventEmitter<{ lost: [name: string] }> {
  private readonly agents = new Map<string, KnownAgent>()
  private readonly sinks = new Map<string, ReportSink>()
  private faultRunsOf: FaultRunsOf | undefined
  private sweeper: NodeJS.Timeout | undefined
  /** Agent windows received since start (for /metrics). */
  windowsReceived = 0

  private readonly lostAfterMs: number
  private readonly maxAgents: number
  private readonly expireAfterMs: number

  constructor(
    private readonly now: () => number = Date.now,
    private readonly store?: AgentStore,
    options: AgentRegistryOptions = {},
  ) {
    super()
    this.lostAfterMs = options.lostAfterMs ?? agentLostAfterMs
    this.maxAgents = options.maxAgents ?? defaultLimits.maxAgents
    this.expireAfterMs = options.expireAfterMs ?? defaultLimits.agentExpiryS * 1000
  }

  startSweeping(intervalMs = 250): void {
    this.sweeper = setInterval(() => this.sweep(), intervalMs)
    this.sweeper.unref()
  }

  stop(): void {
    clearInterval(this.sweeper)
  }

  /** From now on, heartbeat replies tell each agent which runs still want its faults. */
  reportFaultRuns(faultRunsOf: FaultRunsOf): void {
    this.faultRunsOf = faultRunsOf
  }

  /** Registers or refreshes an agent; throws 'too_many' for a new name when maxAgents are known. */
  heartbeat(name: string, beat: Heartbeat): HeartbeatReply {
    const nowMs = this.now()
    const known = this.agents.get(name)
    if (!known && this.agents.size >= this.maxAgents) {
      throw new GauntletError(
        'too_many',
        `this controller already knows ${this.maxAgents} agents (--max-agents); lost ones are forgotten ` +
          `after ${Math.round(this.expireAfterMs / 3600_000)} h`,
      )
    }
    const entry: KnownAgent = {
      name,
      url: beat.url,
      capacityRps: beat.capacityRps,
      version: beat.version,
      registeredAt: known && !known.lost ? known.registeredAt : new Date(nowMs).toISOString(),
      lastHeartbeatMs: nowMs,
      lost: false,
      runs: known?.runs ?? new Set(),
      reportedRuns: beat.runs.slice(0, maxHeartbeatRuns),
      ...(beat.clock ? { clock: beat.clock } : {}),
      ...(beat.faults ? { faults: beat.faults } : {}),
    }
    this.agents.set(name, entry)
    if (!known || known.lost || known.url !== beat.url || known.capacityRps !== beat.capacityRps) this.persist(entry)
    return {
      controllerTime: this.now(),
      runs: [...entry.runs],
      ...(this.faultRunsOf ? { faultRuns: this.faultRunsOf(name) } : {}),
    }
  }

  /** Agents that heartbeat, for a new run. */
  available(): AgentInfo[] {
    return this.list().filter((a) => a.state !== 'lost')
  }

  list(): AgentInfo[] {
    return [...this.agents.values()].map((entry) => this.info(entry)).sort((a, b) => a.name.localeCompare(b.name))
  }

  assign(name: string, runId: string): void {
    this.agents.get(name)?.runs.add(runId)
  }

  release(name: string, runId: string): void {
    this.agents.get(name)?.runs.delete(runId)
  }

  /** Routes agents' reports for `runId` to `sink` until detached. */
  attachRun(runId: string, sink: ReportSink): void {
    this.sinks.set(runId, sink)
  }

  detachRun(runId: string): void {
    this.sinks.delete(runId)
  }

  /** False when no run in progress takes reports under this id; resolves once the report is stored. */
  async ingest(name: string, report: AgentReport): Promise<boolean> {
    const sink = this.sinks.get(report.runId)
    if (!sink) return false
    this.windowsReceived += report.windows.length
    await sink.report(name, report)
    return true
  }

  /** A report for `runId` that the schema refused; false when no run in progress takes reports under that id. */
  refuse(name: string, runId: string, problem: string): boolean {
    const sink = this.sinks.get(runId)
    if (!sink) return false
    sink.refuse(name, problem)
    return true
  }

  /**
   * Declares silent agents lost, and forgets those lost for longer than expireAfterMs. Public for tests with a clock.
   */
  sweep(): void {
    const nowMs = this.now()
    for (const entry of this.agents.values()) {
      if (entry.lost && nowMs - entry.lastHeartbeatMs >= this.expireAfterMs) {
        this.agents.delete(entry.name)
        this.store?.forgetAgent(entry.name)
        continue
      }
      if (entry.lost || nowMs - entry.lastHeartbeatMs < this.lostAfterMs) continue
      entry.lost = true
      this.persist(entry)
      this.emit('lost', entry.name)
      // Whatever it was running has been (or will be) handed on; if it comes back it must not resume.
      entry.runs.clear()
    }
  }

  private info(entry: KnownAgent): AgentInfo {
    return {
      name: entry.name,
      url: entry.url,
      capacityRps: entry.capacityRps,
      version: entry.version,
      state: entry.lost ? 'lost' : entry.runs.size > 0 ? 'busy' : 'ready',
      registeredAt: entry.registeredAt,
      lastHeartbeatAt: new Date(entry.lastHeartbeatMs).toISOString(),
      runs: [...entry.runs],
      reportedRuns: entry.reportedRuns,
      ...(entry.clock
        ? { clock: { offsetMs: round(entry.clock.offsetMs), uncertaintyMs: round(entry.clock.uncertaintyMs) } }
        : {}),
      ...(entry.faults ? { faults: entry.faults } : {}),
    }
  }

  private persist(entry: KnownAgent): void {
    this.store?.saveAgent({ ...this.info(entry) })
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10
