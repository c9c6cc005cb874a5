import {
  buildTimeline,
  laneIntendedOffsetMs,
  laneSends,
  laneSendsBefore,
  laneWindowOfSend,
  lanePlannedInWindow,
  leaveGraceMs,
  replanTimeline,
  scenarioStepEndS,
  stepAt,
  totalDurationS,
  wholeSchedule,
  type Lane,
  type PlannedStep,
  type ScheduledStep,
  type WindowReport,
} from '@gauntlet/contracts/plain'
import { performance } from 'node:perf_hooks'
import {
  AutocannonConnection,
  type ConnectionOwner,
  type ConnectionTarget,
  type RequestOutcome,
} from './autocannon-connection.js'
import type { ResponseExpectation } from './response-expectation.js'
import { SendPlan, type MixRequest } from './send-plan.js'
import { DataExhausted, type AgentSlot, type DataSetShare } from './send-values.js'
import { WindowAccumulator } from './window-accumulator.js'

export interface LoadPlan {
  target: ConnectionTarget
  steps: PlannedStep[]
  timeoutMs: number
  /**
   * What a successful response is (target.expect) and whether redirects are followed; absent: any 2xx,
   * nothing else looked at (see responseExpectationFor).
   */
  expect?: ResponseExpectation
  /**
   * A weighted mix (scenario requests:), each send making one of them with its templates rendered, and
   * each request's outcomes counted apart in the windows. Absent: every send makes the target's request.
   */
  mix?: MixRequest[]
  /** Count each request of `mix` apart in the windows (a scenario's requests:, not its one target request). */
  perRequest?: boolean
  /** The data sets the templates read (this agent's share of a unique one). */
  data?: Record<string, DataSetShare>
  /** This agent's place among the run's agents: `{{ seq }}` stays unique across them. */
  slot?: AgentSlot
  /** The share of the schedule this generator sends when the agent runs several threads; absent: all of it. */
  lane?: Lane
  /** Fixed connection count; when absent, connections grow on demand up to `maxConnections`. */
  connections?: number
  maxConnections: number
  /**
   * Epoch ms (this host's clock) at which second 0 of the plan starts, so agents on several hosts share
   * one timeline. Without it the clock starts as soon as the first connections are warm.
   */
  startAtEpochMs?: number
}

export interface LoadRunOptions {
  onWindow: (window: WindowReport) => void
  /** Second 0 of the plan has begun; `epochMs` is when it began (planned start, or clock start). */
  onStart?: (epochMs: number) => void
  /**
   * Without a planned start: called once connections are warm, resolves the epoch ms second 0 starts at
   * (an agent's threads wait for each other, so they share one clock). Never rejects.
   */
  sharedStart?: () => Promise<number>
  signal?: AbortSignal
}

export interface LoadRunResult {
  aborted: boolean
  peakConnections: number
  /** Why the load stopped itself before its plan ended (a unique data set ran out). */
  stoppedBy?: string
}

/** How often in-flight requests are checked against the timeout. Timeouts fire within this much of due. */
const timeoutSweepMs = 50

/** How long the generator waits for its first connections before it starts the clock anyway. */
const warmupLimitMs = 2000

/** A replan must reach the generator at least this long before the second it changes. */
const replanMarginMs = 20

/**
 * Open-model load generator: every planned send has an intended time, leaves at that time on a free
 * connection (or as soon as one frees up), and its latency is measured from the intended time, so a
 * stalled target shows its stall instead of silently slowing the generator down. The plan bounds the
 * traffic: a send still waiting at its scenario step's end plus leaveGraceMs (or overdue by more than the
 * request timeout) is dropped, never sent late. A send's lag (lateSends) is measured when it is handed to a
 * connection; the connection's own connect or handshake after that is the target's time.
 */
export class LoadGenerator implements ConnectionOwner {
  private timeline: ScheduledStep[]
  private readonly windows = new Map<number, WindowAccumulator>()
  private readonly connections: AutocannonConnection[] = []
  private readonly idle = new Set<AutocannonConnection>()
  private readonly busy = new Set<AutocannonConnection>()
  private startAt = 0
  private startEpochMs = 0
  private stepIndex = 0
  private sendIndex = 0
  private nextWindowToEmit = 0
  private finishedScheduling = false
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  /** When the armed dispatch tick fires (performance.now()); Infinity when none is armed. */
  private tickAt = Infinity
  private sweeper: NodeJS.Timeout | undefined
  private peakConnections = 0
  private done!: (result: LoadRunResult) => void
  private options!: LoadRunOptions
  private readonly sends: SendPlan
  private stoppedBy: string | undefined
  private readonly lane: Lane
  /** plan.startAtEpochMs, or the start the threads agreed on (sharedStart). */
  private plannedStartMs: number | undefined

  constructor(private readonly plan: LoadPlan) {
    this.timeline = buildTimeline(plan.steps)
    this.lane = plan.lane ?? wholeSchedule
    this.plannedStartMs = plan.startAtEpochMs
    this.sends = new SendPlan(plan.target, {
      ...(plan.mix ? { mix: plan.mix } : {}),
      ...(plan.perRequest ? { perRequest: true } : {}),
      ...(plan.data ? { data: plan.data } : {}),
      ...(plan.slot ? { slot: plan.slot } : {}),
      ...(plan.expect ? { expect: plan.expect } : {}),
    })
  }

  run(options: LoadRunOptions): Promise<LoadRunResult> {
    this.options = options
    return new Promise((resolve) => {
      this.done = resolve
      if (options.signal?.aborted) return this.finish(true)
      options.signal?.addEventListener('abort', () => this.finish(true), { once: true })
      this.openInitialConnections().then(
        async () => {
          if (this.stopped) return
          this.plannedStartMs ??= await options.sharedStart?.()
          if (this.stopped) return
          const waitMs = this.plannedStartMs === undefined ? 0 : this.plannedStartMs - Date.now()
          this.timer = setTimeout(() => this.startClock(), Math.max(0, waitMs))
        },
        () => this.finish(true),
      )
    })
  }

  /**
   * Replaces the plan from run second `fromS` on (an agent's share changed). Refused (false) once that
   * second is too close to replan without touching sends already due.
   */
  replan(fromS: number, tail: readonly PlannedStep[]): boolean {
    if (this.stopped) return false
    if (this.startAt !== 0 && performance.now() > this.startAt + fromS * 1000 - replanMarginMs) return false
    this.timeline = replanTimeline(this.timeline, fromS, tail)
    if (this.startAt !== 0) this.dispatchDue()
    return true
  }

  /**
   * Every connection moves to a new socket (idle ones now, busy ones after their request settles).
   * Resolves once none will send on its old socket again.
   */
  async reconnectAll(): Promise<void> {
    await Promise.all([...this.connections].map((connection) => connection.reconnect()))
  }

  private startClock(): void {
    if (this.stopped) return
    this.startEpochMs = Date.now()
    // Second 0 is the planned start when there is one, even if this timer fired a little late.
    this.startAt =
      performance.now() - (this.plannedStartMs === undefined ? 0 : Math.max(0, this.startEpochMs - this.plannedStartMs))
    this.sweeper = setInterval(() => this.sweepTimeouts(), timeoutSweepMs)
    this.options.onStart?.(this.plannedStartMs ?? this.startEpochMs)
    this.dispatchDue()
  }

  // --- ConnectionOwner -------------------------------------------------------------------------

  connectionIdle(connection: AutocannonConnection): void {
    if (this.stopped || connection.busy || this.idle.has(connection)) return
    this.busy.delete(connection)
    this.idle.add(connection)
    this.dispatchDue()
  }

  requestLeft(connection: AutocannonConnection, atMs: number): void {
    if (this.stopped) return
    const intended = this.windowAt(connection.windowIndex)
    intended.noteDispatched(connection.call?.request)
    // The lag is the generator's own: intended time to hand-over. A connect or TLS handshake after the
    // hand-over is the target's and the network's time (it shows in the latency, measured from intendedAt).
    intended.noteSendLag(connection.sentAt - connection.intendedAt)
    // The wall-clock second it left in; what leaves in the grace after the plan's end counts in the last one.
    this.windowAt(Math.min(this.lastWindowIndex, Math.floor((atMs - this.startAt) / 1000))).sent++
  }

  requestSettled(connection: AutocannonConnection, outcome: RequestOutcome): void {
    this.busy.delete(connection)
    const window = this.windows.get(connection.windowIndex)
    if (!window) return
    const request = connection.call?.request ?? 0
    if (outcome === 'dropped') window.recordDrops(1)
    else if (typeof outcome === 'number' && Number.isInteger(outcome)) {
      const latencyUs = (performance.now() - connection.intendedAt) * 1000
      window.recordResponse(outcome, latencyUs, connection.expect?.status, request)
    } else {
      window.recordFailure(typeof outcome === 'string' ? outcome : 'other', connection.tlsFailure, request)
    }
    // Only an outcome for the oldest open window can release it (the sweeper covers the passing of time).
    if (connection.windowIndex === this.nextWindowToEmit) this.emitSettledWindows()
  }

  // --- scheduling ------------------------------------------------------------------------------

  /**
   * Connects before the clock starts, so the first second does not pay for handshakes (bounded: a
   * target that does not accept in time is measured as it is).
   */
  private async openInitialConnections(): Promise<void> {
    const first = this.timeline[0]
    // Without a fixed count, start with what 20 ms of latency would need at this lane's share of the first
    // rate, and grow.
    const firstRps = (first?.rps ?? 1) / this.lane.count
    const initial = this.plan.connections ?? Math.min(this.plan.maxConnections, Math.max(1, Math.ceil(firstRps * 0.02)))
    const connected: Array<Promise<void>> = []
    for (let i = 0; i < initial; i++) {
      const connection = this.addConnection()
      if (!connection) break
      connected.push(connection.warm())
      this.idle.add(connection)
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(connected), new Promise((resolve) => (timer = setTimeout(resolve, warmupLimitMs)))])
    clearTimeout(timer)
  }

  private addConnection(): AutocannonConnection | undefined {
    const limit = this.plan.connections ?? this.plan.maxConnections
    if (this.connections.length >= limit) return undefined
    const connection = new AutocannonConnection(this.plan.target, this)
    this.connections.push(connection)
    this.peakConnections = Math.max(this.peakConnections, this.connections.length)
    return connection
  }

  private takeIdle(): AutocannonConnection | undefined {
    for (const connection of this.idle) {
      this.idle.delete(connection)
      return connection
    }
    return undefined
  }

  private get lastWindowIndex(): number {
    return totalDurationS(this.timeline) - 1
  }

  /**
   * Wakes dispatchDue at `dueAt` (performance.now()). A tick already armed to fire by then is kept rather
   * than re-armed on every response (each calls dispatchDue); no CPU difference was measurable at 5,000 rps.
   */
  private scheduleTick(dueAt: number, now: number): void {
    if (this.stopped || this.finishedScheduling || this.tickAt <= dueAt) return
    clearTimeout(this.timer)
    this.tickAt = dueAt
    this.timer = setTimeout(this.tick, Math.max(0, dueAt - now))
  }

  private readonly tick = (): void => {
    this.tickAt = Infinity
    this.dispatchDue()
  }

  /** Sends every request whose intended time has come, while a connection is free. */
  private dispatchDue(): void {
    if (this.stopped || this.finishedScheduling) return
    const now = performance.now()
    for (;;) {
      const step = this.timeline[this.stepIndex]
      if (!step) {
        this.finishedScheduling = true
        this.emitSettledWindows()
        return
      }
      if (this.sendIndex >= laneSends(step, this.lane)) {
        this.stepIndex++
        this.sendIndex = 0
        continue
      }
      const leaveBy = this.leaveBy(step)
      // Past its step's end plus the grace, nothing of the step may leave any more.
      if (now > leaveBy) {
        this.dropSends(step, laneSends(step, this.lane))
        continue
      }
      // Overdue by more than a timeout: a send now would measure our backlog, not the target.
      const overdue = laneSendsBefore(step, (now - this.startAt - this.plan.timeoutMs) / 1000, this.lane)
      if (overdue > this.sendIndex) {
        this.dropSends(step, overdue)
        continue
      }
      const intendedAt = this.startAt + laneIntendedOffsetMs(step, this.sendIndex, this.lane)
      if (intendedAt > now) {
        this.scheduleTick(intendedAt, now)
        return
      }
      const connection = this.takeIdle() ?? this.addConnection()
      if (!connection) {
        // Every connection is busy and none may be added: wait for connectionIdle().
        this.emitSettledWindows()
        return
      }
      let call
      try {
        call = this.sends.next()
      } catch (error) {
        if (!(error instanceof DataExhausted)) throw error
        // No row left for this send: the load ends here, judged on what it saw, and says why.
        this.idle.add(connection)
        this.stoppedBy = error.message
        this.finish(true)
        return
      }
      const windowIndex = laneWindowOfSend(step, this.sendIndex, this.lane)
      this.sendIndex++
      this.busy.add(connection)
      connection.send({ intendedAt, windowIndex, leaveBy, call }, now)
    }
  }

  /**
   * performance.now() after which no send of `entry` may leave: its scenario step's planned end plus the
   * grace. A step split into several entries (a replan mid-step) goes on past each entry's end.
   */
  private leaveBy(entry: ScheduledStep): number {
    return this.startAt + scenarioStepEndS(this.timeline, entry.index) * 1000 + leaveGraceMs
  }

  /** Drops the sends of `step` from the next one up to (not including) `until`, each in its intended window. */
  private dropSends(step: ScheduledStep, until: number): void {
    for (let w = laneWindowOfSend(step, this.sendIndex, this.lane); this.sendIndex < until; w++) {
      const count = Math.min(until, laneSendsBefore(step, w + 1, this.lane)) - this.sendIndex
      if (count <= 0) continue
      this.windowAt(w).recordDrops(count)
      this.sendIndex += count
    }
  }

  private sweepTimeouts(): void {
    const now = performance.now()
    for (const connection of [...this.busy]) {
      if (now - connection.sentAt >= this.plan.timeoutMs) connection.abandon('timeout')
    }
    this.emitSettledWindows()
  }

  // --- windows ---------------------------------------------------------------------------------

  private windowAt(index: number): WindowAccumulator {
    let window = this.windows.get(index)
    if (!window) {
      window = new WindowAccumulator(
        index,
        stepAt(this.timeline, index)?.step ?? this.timeline[this.timeline.length - 1]?.step ?? 0,
        lanePlannedInWindow(this.timeline, index, this.lane),
        this.sends.names,
      )
      this.windows.set(index, window)
    }
    return window
  }

  /** Emits, in order, every window whose second has passed and whose requests all have an outcome. */
  private emitSettledWindows(): void {
    if (this.stopped) return
    const elapsedS = (performance.now() - this.startAt) / 1000
    const lastWindow = totalDurationS(this.timeline)
    while (this.nextWindowToEmit < lastWindow && !this.stopped) {
      const index = this.nextWindowToEmit
      if (elapsedS < index + 1) break
      const window = this.windowAt(index)
      // Once nothing is in flight and nothing is left to send, no outcome can still arrive.
      const nothingPending = this.finishedScheduling && this.busy.size === 0
      if (!window.settled && !nothingPending) break
      this.emit(window, window.settled)
    }
    if (this.stopped) return
    if (this.nextWindowToEmit >= lastWindow) this.finish(false)
    else if (this.finishedScheduling && this.busy.size === 0) {
      // Nothing in flight and nothing left to send: the remaining windows only wait for their second to end.
      clearTimeout(this.timer)
      this.timer = setTimeout(
        () => this.emitSettledWindows(),
        Math.max(1, (this.nextWindowToEmit + 1 - elapsedS) * 1000),
      )
    }
  }

  private emit(window: WindowAccumulator, complete: boolean): void {
    this.windows.delete(window.index)
    this.nextWindowToEmit = window.index + 1
    this.options.onWindow(window.toReport(this.startEpochMs + window.index * 1000, complete, this.connections.length))
  }

  private finish(aborted: boolean): void {
    if (this.stopped) return
    if (aborted) {
      // Judge what was seen: flush the windows that had started (none if the clock never started).
      const elapsedS = this.startAt === 0 ? 0 : (performance.now() - this.startAt) / 1000
      const last = Math.min(totalDurationS(this.timeline), Math.ceil(elapsedS))
      for (let index = this.nextWindowToEmit; index < last; index++) {
        const window = this.windowAt(index)
        this.emit(window, window.settled)
      }
    }
    this.stopped = true
    clearTimeout(this.timer)
    clearInterval(this.sweeper)
    for (const connection of this.connections) connection.destroy()
    this.done({
      aborted,
      peakConnections: this.peakConnections,
      ...(this.stoppedBy !== undefined ? { stoppedBy: this.stoppedBy } : {}),
    })
  }
}
