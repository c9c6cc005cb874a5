import {
  controllerLostAfterMs,
  GauntletError,
  inventoryNamePattern,
  maxFaultTargets,
  maxInventoryNames,
  type FaultApplyRequest,
  type FaultInventory,
  type FaultPrepared,
  type FaultSpec,
  type FaultTarget,
} from '@gauntlet/contracts'
import type { EngineInventory, FaultEngine, FaultReport, PrepareOptions } from '@gauntlet/faults'
import type { InjectorChoice } from '@gauntlet/faults'

/** The agent's view of its Docker engine (DockerEngineView in @gauntlet/faults; a fake in tests). */
export interface EngineView {
  targetNames(target: FaultTarget): Promise<string[]>
  inventory(): Promise<EngineInventory>
}

/** How long a revert begun by bypass() waits for its second half before it drains anyway. */
export const bypassWaitMs = 5_000

/** The longest a fault may last (the fault loader's own cap) plus slack for clocks and transit. */
export const maxFaultUntilAheadMs = 24 * 3_600_000 + 5 * 60_000

/** How often the heartbeat's inventory is refreshed from the engine: never once per heartbeat. */
export const inventoryRefreshMs = 5_000

interface Held {
  runId?: string
  /** Local time it was applied: only a heartbeat reply sent after it can say its run is over. */
  appliedAt: number
}

const nameRule = new RegExp(inventoryNamePattern)

/**
 * The faults of a fault-capable agent (`gauntlet agent --docker`): what its routes do with the engine,
 * the inventory its heartbeat carries, and which runs are still live. A fault of a run the controller
 * no longer runs, or applied while the controller has gone silent, is reverted: a fault never outlives
 * the run that wanted it (ad hoc faults end at their own expiry).
 */
export class AgentFaults {
  private readonly held = new Map<string, Held>()
  private snapshot: FaultInventory
  private refresher: NodeJS.Timeout | undefined
  /** The last heartbeat reply: when its heartbeat left (local time) and the runs it said have faults here. */
  private lastReply: { sentAt: number; receivedAt: number; faultRuns?: Set<string> } | undefined
  private recovered = false
  /** Reverts begun by bypass(), waiting for their second half. */
  private readonly bypassed = new Map<string, { proceed: () => void; done: Promise<FaultReport> }>()

  constructor(
    private readonly engine: FaultEngine,
    private readonly view: EngineView,
    private readonly injector: InjectorChoice,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
    /** How far the controller's clock is ahead of this host's (ClockOffset.offsetMs): orders are in its time. */
    private readonly controllerOffsetMs: () => number = () => 0,
  ) {
    this.snapshot = { injector, containers: 0, services: [] }
  }

  /** Undoes what a dead agent left, then keeps the inventory fresh. */
  async start(): Promise<void> {
    await this.refresh()
    this.refresher = setInterval(() => void this.refresh(), inventoryRefreshMs)
    this.refresher.unref()
  }

  /** Stops refreshing and reverts every fault this engine holds (the agent is stopping). */
  async close(reason: string): Promise<void> {
    clearInterval(this.refresher)
    const reverted = await this.engine.revertAll(reason)
    this.held.clear()
    if (reverted.length > 0) this.log(`reverted ${reverted.length} fault(s): ${reason}`)
    await this.engine.stop?.()
  }

  /** What the heartbeat says about this engine: its last refresh, bounded. */
  inventory(): FaultInventory {
    return this.snapshot
  }

  /** `warm: false`: a placement check, the engine starts nothing for the fault. */
  async prepare(spec: FaultSpec, options: PrepareOptions = {}): Promise<FaultPrepared> {
    // The targets first: "no such container here" is what the controller routes on, and it is cheap.
    const targets = await this.view.targetNames(spec.target)
    const prepared = await this.engine.prepare(spec, options)
    return { spec: prepared, targets: targets.slice(0, maxFaultTargets) }
  }

  async apply(request: FaultApplyRequest): Promise<FaultReport> {
    const { spec, runId } = request
    if (this.held.has(spec.id)) throw new GauntletError('conflict', `fault ${spec.id} is already held here`)
    // Held from before the engine starts it: its run counts as live while it is applied (the engine's
    // reconcile may ask during the apply), until a heartbeat sent after now says otherwise.
    const until = this.localUntil(request.untilEpochMs)
    this.held.set(spec.id, { appliedAt: this.now(), ...(runId ? { runId } : {}) })
    this.bypassed.delete(spec.id)
    try {
      return await this.engine.apply(spec, until, runId ? { run: runId } : {})
    } catch (error) {
      this.held.delete(spec.id)
      throw error
    }
  }

  /**
   * The order's end on this host's clock (the engine's timers and holders run on it), refused when it
   * is already past or further ahead than any fault may last: an order must not hold a fault for days.
   */
  private localUntil(untilEpochMs: number): number {
    // Whole milliseconds: the offset is a midpoint estimate (x.5), and timers, labels and the proxy take integers.
    const until = Math.round(untilEpochMs - this.controllerOffsetMs())
    const now = this.now()
    if (until <= now) {
      throw new GauntletError('invalid_scenario', `untilEpochMs ${untilEpochMs} is in the past (controller clock)`)
    }
    if (until - now > maxFaultUntilAheadMs) {
      throw new GauntletError(
        'invalid_scenario',
        `untilEpochMs ${untilEpochMs} is more than 24 h 5 min ahead: a fault lasts at most 24 h`,
      )
    }
    return until
  }

  async revert(id: string, reason: string): Promise<FaultReport> {
    const begun = this.bypassed.get(id)
    if (begun) {
      this.bypassed.delete(id)
      begun.proceed()
      return begun.done
    }
    const report = await this.engine.revert(id, reason)
    this.held.delete(id)
    return report
  }

  /**
   * The first half of a revert, for a controller that moves its load off a proxy delay before the proxy
   * ends their connections (what beforeDrain does in one process): the revert starts, and this resolves
   * once new connections bypass the proxy (`draining: true`), or once the whole revert is done when there
   * is nothing to drain. The revert goes on when revert(id) is called, or after bypassWaitMs at most.
   */
  async bypass(id: string, reason: string): Promise<{ draining: boolean }> {
    if (this.bypassed.has(id)) throw new GauntletError('conflict', `fault ${id} is already being reverted`)
    let proceed!: () => void
    const go = new Promise<void>((resolve) => (proceed = resolve))
    let announce!: () => void
    const announced = new Promise<void>((resolve) => (announce = resolve))
    // Bounded: a controller that never sends the second half does not keep the proxy open.
    const timer = setTimeout(proceed, bypassWaitMs)
    const done = this.engine
      .revert(id, reason, {
        beforeDrain: async () => {
          announce()
          await go
        },
      })
      .then(
        (report) => {
          clearTimeout(timer)
          this.held.delete(id)
          // Kept for the second half; forgotten if it never comes.
          setTimeout(() => this.bypassed.get(id)?.done === done && this.bypassed.delete(id), bypassWaitMs).unref()
          return report
        },
        (error: unknown) => {
          // Nothing is kept of a revert that failed: the second half asks the engine again.
          clearTimeout(timer)
          if (this.bypassed.get(id)?.done === done) this.bypassed.delete(id)
          throw error
        },
      )
    // Whoever awaits the second half sees its failure; nobody else must.
    done.catch(() => undefined)
    this.bypassed.set(id, { proceed, done })
    const draining = await Promise.race([announced.then(() => true), done.then(() => false)])
    return { draining }
  }

  list(): Promise<FaultReport[]> {
    return this.engine.list()
  }

  /** Whether the agent holds faults of runs (the controller's silence matters then). */
  get holdsRunFaults(): boolean {
    return [...this.held.values()].some((h) => h.runId !== undefined)
  }

  /**
   * Whether the controller still runs `runId`, as far as this agent knows: yes until a reply says
   * otherwise, unless the controller has been silent for controllerLostAfterMs (then no run is live).
   */
  isRunLive(runId: string): boolean {
    const reply = this.lastReply
    if (!reply) return true
    if (this.now() - reply.receivedAt >= controllerLostAfterMs) return false
    if (!reply.faultRuns || reply.faultRuns.has(runId)) return true
    // Applied after that heartbeat left: its reply could not know about it yet.
    return [...this.held.values()].some((h) => h.runId === runId && h.appliedAt >= reply.sentAt)
  }

  /** A heartbeat sent at `sentAt` was answered: faults of runs it no longer lists are reverted. */
  onReply(faultRuns: readonly string[] | undefined, sentAt: number, receivedAt: number): void {
    this.lastReply = { sentAt, receivedAt, ...(faultRuns ? { faultRuns: new Set(faultRuns) } : {}) }
    this.revertUnwanted('the controller no longer runs it')
  }

  /** The controller has been silent too long: the faults of its runs go, as its load does. */
  onControllerLost(): void {
    this.revertUnwanted('the controller went silent')
  }

  private revertUnwanted(reason: string): void {
    for (const [id, held] of this.held) {
      if (held.runId === undefined || this.isRunLive(held.runId)) continue
      this.held.delete(id)
      this.log(`fault ${id} of run ${held.runId}: reverting (${reason})`)
      void this.engine.revert(id, reason).catch((error: Error) => this.log(`fault ${id}: ${error.message}`))
    }
  }

  /** Until the engine has answered once, every refresh retries the recovery (the engine may start later). */
  private async recover(): Promise<void> {
    if (this.recovered) return
    try {
      const cleaned = await this.engine.recover()
      this.recovered = true
      if (cleaned.length > 0) this.log(`faults left by a previous process reverted in: ${cleaned.join(', ')}`)
    } catch (error) {
      this.log(`faults: cannot recover yet (retried every ${inventoryRefreshMs / 1000} s): ${(error as Error).message}`)
    }
  }

  private async refresh(): Promise<void> {
    await this.recover()
    try {
      const found = await this.view.inventory()
      const services = found.services.filter((n) => nameRule.test(n))
      const labels = found.labels.filter((n) => nameRule.test(n))
      const truncated = services.length > maxInventoryNames || labels.length > maxInventoryNames
      this.snapshot = {
        injector: this.injector,
        containers: found.containers,
        services: services.slice(0, maxInventoryNames),
        labels: labels.slice(0, maxInventoryNames),
        ...(truncated ? { truncated } : {}),
      }
    } catch (error) {
      this.snapshot = {
        injector: this.injector,
        containers: 0,
        services: [],
        error: (error as Error).message.slice(0, 300),
      }
    }
    await this.forgetEnded()
  }

  /** Faults that ended on their own (their expiry) are no longer this agent's to watch. */
  private async forgetEnded(): Promise<void> {
    const asked = this.now()
    let active: Set<string>
    try {
      active = new Set((await this.engine.list()).map((r) => r.id))
    } catch {
      return
    }
    for (const [id, held] of this.held) if (held.appliedAt < asked && !active.has(id)) this.held.delete(id)
  }
}
