import {
  buildTimeline,
  plannedInWindow,
  replanTimeline,
  type AgentLoss,
  type AgentReport,
  type PlannedStep,
  type ScheduledStep,
  type WindowReport,
} from '@gauntlet/contracts'
import { createLatencyHistogram, decodeHistogram, type Histogram, type LatencyCounts } from '@gauntlet/metrics'
import { planBefore, planFrom, splitPlan } from './rate-split.js'
import { mergeWindows } from './window-merge.js'

interface MemberSpec {
  name: string
  capacityRps: number
}

interface Member {
  name: string
  capacityRps: number
  /** Windows this agent owes: those before this index (its share moves elsewhere from there). */
  owesUntil: number
  lost: boolean
  done: boolean
  delivered: Map<number, WindowReport>
  lastDelivered: number
  peakConnections: number
}

/**
 * Seconds ahead of the next one to merge whose histograms are merged as they arrive. Beyond it a window
 * waits encoded and is decoded when its second is merged: each second merging costs a full-range
 * histogram, so an agent sending far ahead must not make the controller hold one per second of the run.
 */
const mergeAheadS = 64

/** A second's latency merged so far, and whose windows it holds. */
interface Merging {
  histogram: Histogram
  agents: Set<string>
}

/** A redistribution the controller must deliver: each survivor's new plan from `fromS`. */
export interface Redistribution {
  fromS: number
  tails: Array<{ agent: string; steps: PlannedStep[] }>
}

/**
 * The controller's bookkeeping for one run spread over agents, without any I/O: which agent owes
 * which window, merging each second once every agent that owes it has delivered (or was lost), in
 * order, and how a lost agent's share moves to the survivors.
 */
export class DistributedRun {
  private readonly members = new Map<string, Member>()
  private totalWindows: number
  private timeline: ScheduledStep[]
  /** Every timeline this run has had (holds replan it): an agent's window may follow any of them. */
  private readonly timelines: ScheduledStep[][] = []
  private nextToEmit = 0
  /**
   * Latency of the seconds not merged yet, merged window by window as they are delivered, so that no
   * single turn of the event loop decodes and merges a histogram per agent.
   */
  private readonly merging = new Map<number, Merging>()
  private stopping = false
  readonly losses: AgentLoss[] = []

  constructor(
    private plan: readonly PlannedStep[],
    specs: readonly MemberSpec[],
    /** Second 0 of the run, controller clock (epoch ms). */
    private readonly startAt: number,
    private readonly emit: (window: WindowReport) => void,
  ) {
    this.timeline = buildTimeline(plan)
    this.timelines.push(this.timeline)
    this.totalWindows = this.timeline.reduce((sum, s) => sum + s.durationS, 0)
    for (const spec of specs) {
      this.members.set(spec.name, {
        name: spec.name,
        capacityRps: spec.capacityRps,
        owesUntil: this.totalWindows,
        lost: false,
        done: false,
        delivered: new Map(),
        lastDelivered: -1,
        peakConnections: 0,
      })
    }
  }

  get finished(): boolean {
    return (
      this.nextToEmit >= this.totalWindows ||
      (this.stopping && [...this.members.values()].every((m) => m.lost || m.done))
    )
  }

  get agentNames(): string[] {
    return [...this.members.keys()]
  }

  get peakConnections(): number {
    return [...this.members.values()].reduce((sum, m) => sum + m.peakConnections, 0)
  }

  /** The steps run second `index` belongs to in any version of the plan; empty when no version has that second. */
  stepsAt(index: number): number[] {
    const steps = new Set<number>()
    for (const timeline of this.timelines) {
      const entry = timeline.find((s) => index >= s.startS && index < s.startS + s.durationS)
      if (entry) steps.add(entry.step)
    }
    return [...steps]
  }

  /** A window `agent` delivered that is not merged yet. */
  pending(agent: string, index: number): WindowReport | undefined {
    return this.members.get(agent)?.delivered.get(index)
  }

  /** Whether `agent` takes part in this run (reports from any other agent are refused). */
  has(agent: string): boolean {
    return this.members.has(agent)
  }

  /**
   * Takes an agent's report. Duplicates and windows of a lost agent are ignored. Returns 'ended-early'
   * when the agent says its load ended while it still owed windows and the run was not stopping (its
   * generator failed, say): the caller must then treat it as lost. `decoded` gives a window's latency
   * histogram when the caller already decoded it (the report check does), so it is not decoded again.
   */
  ingest(
    agent: string,
    report: Pick<AgentReport, 'windows' | 'done'>,
    decoded?: (window: WindowReport) => LatencyCounts | undefined,
  ): 'ended-early' | undefined {
    const member = this.members.get(agent)
    if (!member || member.lost) return
    for (const window of report.windows) {
      // A duplicate (delivered or merged already) or a window past what it owes: ignored.
      if (window.index >= member.owesUntil || window.index < this.nextToEmit || member.delivered.has(window.index))
        continue
      member.delivered.set(window.index, window)
      if (window.index < this.nextToEmit + mergeAheadS) this.mergeLatency(window, agent, decoded?.(window))
      member.lastDelivered = Math.max(member.lastDelivered, window.index)
      member.peakConnections = Math.max(member.peakConnections, window.openConnections)
    }
    if (report.done) {
      member.done = true
      member.peakConnections = Math.max(member.peakConnections, report.done.peakConnections)
      if (!this.stopping && member.lastDelivered < member.owesUntil - 1) return 'ended-early'
    }
    this.emitReady()
    return undefined
  }

  /**
   * An agent is gone. With `redistribute`, its share from the first second that can still be changed
   * moves to the survivors (returned for the caller to deliver); otherwise, or when no survivor is
   * left, nothing moves.
   */
  lose(agent: string, reason: string, nowMs: number, redistribute: boolean): Redistribution | undefined {
    const member = this.members.get(agent)
    if (!member || member.lost) return undefined
    member.lost = true
    // It had delivered everything it owed: nothing is missing, nothing to move, no degradation.
    if (member.lastDelivered >= member.owesUntil - 1) return undefined
    const elapsedS = (nowMs - this.startAt) / 1000
    // The first second boundary at least 250 ms away (time for the replan to reach the survivors), and
    // never one it already delivered: those windows stay merged.
    const fromS = Math.max(0, Math.ceil(elapsedS + 0.25), member.lastDelivered + 1)
    const survivors = [...this.members.values()].filter((m) => !m.lost && !m.done)
    const moves = redistribute && !this.stopping && survivors.length > 0 && fromS < member.owesUntil
    const loss: AgentLoss = {
      agent,
      lostAt: new Date(nowMs).toISOString(),
      reason,
      lastWindow: member.lastDelivered,
      redistributedFrom: moves ? fromS : null,
      // Counted as the windows that lack it are merged.
      gapWindows: 0,
    }
    this.losses.push(loss)
    if (moves) member.owesUntil = fromS
    // Nobody left to load: the run ends with what was delivered.
    if (survivors.length === 0) this.stopping = true
    this.emitReady()
    if (!moves) return undefined
    const tail = planFrom(this.plan, fromS)
    const shares = splitPlan(
      tail,
      survivors.map((s) => s.capacityRps),
    )
    return { fromS, tails: survivors.map((s, i) => ({ agent: s.name, steps: shares[i]! })) }
  }

  /**
   * The plan changes for everyone from `fromS` on (a step gate's hold lengthens a step): every agent
   * still loading owes the new seconds, and gets its share of `tail` to deliver. Undefined once the
   * run is stopping or nobody is left to load.
   */
  replan(fromS: number, tail: readonly PlannedStep[]): Redistribution | undefined {
    const active = [...this.members.values()].filter((m) => !m.lost && !m.done)
    if (this.stopping || active.length === 0) return undefined
    const oldTotal = this.totalWindows
    this.plan = [...planBefore(this.plan, fromS), ...tail]
    this.timeline = replanTimeline(this.timeline, fromS, tail)
    this.timelines.push(this.timeline)
    this.totalWindows = this.timeline.reduce((sum, s) => sum + s.durationS, 0)
    for (const m of active) if (m.owesUntil === oldTotal) m.owesUntil = this.totalWindows
    const shares = splitPlan(
      tail,
      active.map((m) => m.capacityRps),
    )
    return { fromS, tails: active.map((m, i) => ({ agent: m.name, steps: shares[i]! })) }
  }

  /** A survivor could not take its part of `lost`'s share: the seconds from then on fall short (and say so). */
  notCarried(lost: string, survivor: string): void {
    const loss = [...this.losses].reverse().find((l) => l.agent === lost)
    if (loss) loss.notCarriedBy = [...(loss.notCarriedBy ?? []), survivor]
  }

  /** The run is stopping: windows stop being owed once each agent says it is done (or is lost). */
  stop(): void {
    this.stopping = true
    this.emitReady()
  }

  /**
   * Agents still owing a window whose second ended more than `graceMs` ago: they heartbeat but do not
   * report, and must be treated as lost or the run would wait forever.
   */
  overdue(nowMs: number, graceMs: number): string[] {
    const index = this.nextToEmit
    if (index >= this.totalWindows || nowMs < this.startAt + (index + 1) * 1000 + graceMs) return []
    return [...this.members.values()]
      .filter((m) => this.owes(m, index) && !m.lost && !m.done && !m.delivered.has(index))
      .map((m) => m.name)
  }

  /** Adds a delivered window's latency to its second's merge, once (decoding it when not given). */
  private mergeLatency(window: WindowReport, agent: string, decoded?: LatencyCounts): void {
    let merging = this.merging.get(window.index)
    if (!merging) {
      merging = { histogram: createLatencyHistogram(), agents: new Set() }
      this.merging.set(window.index, merging)
    }
    if (merging.agents.has(agent)) return
    merging.agents.add(agent)
    if (decoded) decoded.addTo(merging.histogram)
    else merging.histogram.add(decodeHistogram(window.latency))
  }

  /** Some agent that owes second `index` may still deliver it. */
  private stillOwed(index: number): boolean {
    for (const m of this.members.values())
      if (this.owes(m, index) && !m.lost && !m.done && !m.delivered.has(index)) return true
    return false
  }

  private owes(member: Member, index: number): boolean {
    return index < member.owesUntil
  }

  private emitReady(): void {
    while (this.nextToEmit < this.totalWindows) {
      const index = this.nextToEmit
      // Called on every report: most find the second still owed, and return before allocating anything.
      if (this.stillOwed(index)) return
      const owing = [...this.members.values()].filter((m) => this.owes(m, index))
      const parts = owing.flatMap((m) => (m.delivered.has(index) ? [m.delivered.get(index)!] : []))
      // A stopped run ends with the last second anyone delivered.
      if (this.stopping && parts.length === 0 && owing.every((m) => m.done || m.lost)) {
        if (![...this.members.values()].some((m) => [...m.delivered.keys()].some((i) => i > index))) return
      }
      const missing = owing.filter((m) => m.lost && !m.delivered.has(index)).map((m) => m.name)
      for (const name of missing) for (const loss of this.losses) if (loss.agent === name) loss.gapWindows++
      // What the scenario plans for this second, whoever was meant to send it: any shortfall shows.
      const planned = plannedInWindow(this.timeline, index)
      const step = this.timeline.find((s) => index >= s.startS && index < s.startS + s.durationS)?.step ?? 0
      // Windows that arrived too far ahead to be merged on arrival are merged now.
      for (const m of owing) {
        const window = m.delivered.get(index)
        if (window) this.mergeLatency(window, m.name)
      }
      const latency = this.merging.get(index)?.histogram ?? createLatencyHistogram()
      this.merging.delete(index)
      this.emit(mergeWindows({ index, step, planned, startedAt: this.startAt + index * 1000, latency }, parts, missing))
      for (const m of owing) m.delivered.delete(index)
      this.nextToEmit++
    }
  }
}
