import type { FaultReport } from './fault-engine.js'

/**
 * The reverts of one engine: one at a time per fault, and a second call (a run's and the fault's own
 * timer) gets the same report as the first.
 */
export class RevertOnce {
  private readonly done = new Map<string, FaultReport>()
  private readonly pending = new Map<string, Promise<FaultReport>>()

  /** The revert of `id`: its finished report, the one under way, or `revert()` started now. */
  run(id: string, revert: () => Promise<FaultReport>): Promise<FaultReport> {
    const done = this.done.get(id)
    if (done) return Promise.resolve(done)
    let pending = this.pending.get(id)
    if (!pending) {
      pending = revert().finally(() => this.pending.delete(id))
      this.pending.set(id, pending)
    }
    return pending
  }

  underWay(id: string): boolean {
    return this.pending.has(id)
  }

  /** Remembers a finished revert (the last thousand). */
  finished(id: string, report: FaultReport): void {
    this.done.set(id, report)
    if (this.done.size > 1000) this.done.delete(this.done.keys().next().value!)
  }
}

/** Reverts each fault in turn (run end, abort, signals): one that fails is logged, and the rest still go. */
export async function revertEach(
  ids: readonly string[],
  revert: (id: string) => Promise<FaultReport>,
  log?: (line: string) => void,
): Promise<FaultReport[]> {
  const reports: FaultReport[] = []
  for (const id of ids) {
    try {
      reports.push(await revert(id))
    } catch (error) {
      log?.(`fault ${id}: ${(error as Error).message}`)
    }
  }
  return reports
}
