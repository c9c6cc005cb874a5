import { GauntletError, type FaultRecord, type FaultSpec } from '@gauntlet/contracts'
import type { FaultInjector } from './fault-injector.js'
import type { ScheduledFault } from '@gauntlet/faults/documents'

/** A fault of this run: its spec, timers and the record the summary shows. */
interface LiveFault {
  spec: FaultSpec
  offsetMs: number
  record: FaultRecord
  applyTimer?: NodeJS.Timeout
  revertTimer?: NodeJS.Timeout
  /** Settles once its apply (and revert, if started) has finished. */
  work: Promise<void>
  applied: boolean
  reverting?: Promise<void>
}

/**
 * The faults of one run: checked before any load, applied on the run's clock, reverted at their end
 * or when the run stops for any reason, each with planned and actual times for the summary.
 */
export class RunFaults {
  private readonly entries: LiveFault[]
  private stopped = false

  constructor(
    private readonly runId: string,
    faults: readonly ScheduledFault[],
    /** Start second of each scenario step (for atStep). */
    stepStartS: readonly number[],
    private readonly injector: FaultInjector | undefined,
    private readonly warn: (line: string) => void = () => {},
    /**
     * Called once a fault is in place, and while a proxy delay drains: the run moves its load's
     * connections to new sockets then (onto the proxy, and off it again).
     */
    private readonly reconnect: (spec: FaultSpec) => void | Promise<void> = () => {},
  ) {
    this.entries = faults.map(({ spec, start }) => {
      const offsetMs = 'atS' in start ? start.atS * 1000 : (stepStartS[start.atStep - 1] ?? 0) * 1000
      return {
        // Unique per run, so concurrent runs of one scenario never share a fault id.
        spec: { ...spec, id: `${runId}-${spec.id}`.toLowerCase().slice(0, 40) },
        offsetMs,
        record: {
          id: spec.id,
          type: spec.type,
          mechanism: spec.mechanism,
          targets: [],
          plannedApplyAt: '',
          appliedAt: null,
          plannedRevertAt: '',
          revertedAt: null,
          revertVerified: false,
          notes: [],
        },
        work: Promise.resolve(),
        applied: false,
      }
    })
  }

  get count(): number {
    return this.entries.length
  }

  /** Before any load: every fault can run here and hits something. Throws the first problem. */
  async prepare(): Promise<void> {
    if (this.entries.length === 0) return
    if (!this.injector)
      throw new GauntletError(
        'unsupported',
        'this scenario has faults, but no fault injector is configured here (a Docker engine is needed)',
      )
    for (const entry of this.entries) {
      try {
        entry.spec = await this.injector.prepare(entry.spec)
      } catch (error) {
        if (error instanceof GauntletError)
          throw new GauntletError(error.code, `fault ${entry.record.id}: ${error.message}`, { cause: error })
        throw error
      }
      entry.record.mechanism = entry.spec.mechanism
    }
  }

  /** Second 0 of the run began at `epochMs`: schedule every apply. */
  start(epochMs: number): void {
    for (const entry of this.entries) {
      const applyAt = epochMs + entry.offsetMs
      const revertAt = applyAt + entry.spec.durationMs
      entry.record.plannedApplyAt = new Date(applyAt).toISOString()
      entry.record.plannedRevertAt = new Date(revertAt).toISOString()
      entry.applyTimer = setTimeout(
        () => {
          entry.work = this.apply(entry, revertAt)
        },
        Math.max(0, applyAt - Date.now()),
      )
    }
  }

  /** Ids of the faults in effect during any part of [startMs, endMs). */
  activeDuring(startMs: number, endMs: number): string[] {
    return this.entries
      .filter(
        ({ record }) =>
          record.appliedAt !== null &&
          Date.parse(record.appliedAt) < endMs &&
          (record.revertedAt === null || Date.parse(record.revertedAt) > startMs),
      )
      .map(({ record }) => record.id)
  }

  /** The run is over (or stopping): nothing more is applied, everything applied is reverted. */
  async stop(reason: string): Promise<void> {
    this.stopped = true
    for (const entry of this.entries) clearTimeout(entry.applyTimer)
    await Promise.all(this.entries.map((e) => e.work))
    await Promise.all(
      this.entries.filter((e) => e.applied && e.record.revertedAt === null).map((e) => this.revert(e, reason)),
    )
  }

  records(): FaultRecord[] {
    return this.entries.map((e) => ({ ...e.record, notes: [...e.record.notes] }))
  }

  private async apply(entry: LiveFault, revertAt: number): Promise<void> {
    if (this.stopped || !this.injector) return
    try {
      const applied = await this.injector.apply(entry.spec, revertAt, { run: this.runId })
      entry.applied = true
      Object.assign(entry.record, {
        targets: applied.targets,
        appliedAt: applied.appliedAt,
        ...(applied.agent ? { agent: applied.agent } : {}),
        ...(applied.injector ? { injector: applied.injector } : {}),
      })
      void this.reconnect(entry.spec)
      entry.revertTimer = setTimeout(
        () => {
          entry.work = this.revert(entry, 'duration ended')
        },
        Math.max(0, revertAt - Date.now()),
      )
    } catch (error) {
      entry.record.error = `not applied: ${(error as Error).message}`
      this.warn(`fault ${entry.record.id} was not applied: ${(error as Error).message}`)
    }
  }

  private revert(entry: LiveFault, reason: string): Promise<void> {
    clearTimeout(entry.revertTimer)
    entry.reverting ??= this.revertOnce(entry, reason)
    return entry.reverting
  }

  private async revertOnce(entry: LiveFault, reason: string): Promise<void> {
    if (!this.injector) return
    try {
      const reverted = await this.injector.revert(entry.spec.id, reason, {
        beforeDrain: () => this.reconnect(entry.spec),
      })
      Object.assign(entry.record, {
        revertedAt: reverted.revertedAt,
        revertVerified: reverted.revertVerified,
        notes: reverted.notes,
      })
    } catch (error) {
      entry.record.error = `revert: ${(error as Error).message}`
      this.warn(`fault ${entry.record.id}: ${(error as Error).message}`)
    }
  }
}
