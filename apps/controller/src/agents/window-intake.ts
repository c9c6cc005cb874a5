import { GauntletError, type WindowReport } from '@gauntlet/contracts'
import { SparseHistogram, type LatencyCounts } from '@gauntlet/metrics'
import type { RunStore } from '../storage/run-store.js'
import { JobPool } from '../threads/job-pool.js'
import { intakeBatch, type IntakeReply, type IntakeRequest } from './window-intake-batch.js'
import type { IntakeJob } from './window-intake-thread.js'

export type { IntakeRequest } from './window-intake-batch.js'

/** What the intake of one report found. */
export interface IntakeResult {
  /** windowProblems of each window ([] for one outside the mix). */
  own: string[][]
  /** Each window's decoded latency (undefined: it did not check out, or has a shape read by the library). */
  latency: Array<LatencyCounts | undefined>
  /** Its windows are stored, durably: the report may be acknowledged. */
  stored: boolean
}

interface Pending {
  request: IntakeRequest
  resolve: (result: IntakeResult) => void
  reject: (error: unknown) => void
}

// The thread runs built JavaScript: beside this file in dist, or the built copy when tests import the sources.
const workerFile = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/agents/window-intake-thread.js', import.meta.url)
  : new URL('./window-intake-thread.js', import.meta.url)

/** What one batch (one transaction) takes at most. */
export interface IntakeBatchLimits {
  reports: number
  /**
   * Characters of histograms (beyond its first report): what the intake thread holds at once stays far within
   * its heap, even for reports of the largest legal size (~6 MB each).
   */
  histogramChars: number
}

const defaultBatchLimits: IntakeBatchLimits = { reports: 256, histogramChars: 16 * 1024 * 1024 }

/**
 * Agents' windows on their way in: each checked on its own (counters, histogram, percentiles) and stored
 * before its report is acknowledged, so that nothing acknowledged is lost to a crash or a power cut.
 *
 * With a database file, this happens on a thread of its own (window-intake-thread.ts), one batch at a
 * time: the reports that arrive while a batch is being checked and committed form the next one, so that
 * a backlog costs one fsync per batch and the event loop neither decodes nor waits for the disk. Without
 * one (`:memory:`, tests), on this thread, a batch per turn of the event loop.
 */
export class WindowIntake {
  private queue: Pending[] = []
  private inFlight: readonly Pending[] = []
  private busy = false
  private readonly pool: JobPool<IntakeJob> | undefined

  constructor(
    private readonly store: Pick<RunStore, 'saveAgentWindows' | 'agentWindow'>,
    private readonly dbFile?: string,
    private readonly limits = defaultBatchLimits,
  ) {
    this.pool =
      dbFile !== undefined && dbFile !== ':memory:'
        ? new JobPool<IntakeJob>({
            workerFile,
            options: { threads: 1, queue: 1, budgetMs: 30_000, heapMb: 256 },
            refused: (_job, what) => new GauntletError('storage', `storing agents' windows ${what}`),
            busy: "too many agents' windows are being stored at once",
          })
        : undefined
  }

  /** The window `agent` delivered for `index`: stored, or in a batch being stored. */
  delivered(runId: string, agent: string, index: number): WindowReport | undefined {
    for (const { request } of [...this.inFlight, ...this.queue]) {
      if (!request.store || request.runId !== runId || request.agent !== agent) continue
      const window = request.windows.find((w) => w.index === index)
      if (window) return window
    }
    return this.store.agentWindow(runId, agent, index)
  }

  /** Checks one report's windows and stores them when asked and they pass; settles once that is done. */
  take(request: IntakeRequest): Promise<IntakeResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject })
      this.pump()
    })
  }

  /** Ends the intake thread; a batch in progress fails. */
  async close(): Promise<void> {
    await this.pool?.close()
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return
    this.busy = true
    // A turn later: the reports let in during this turn join the batch.
    setImmediate(() => void this.runBatch())
  }

  private async runBatch(): Promise<void> {
    let chars = 0
    let size = 0
    while (size < this.queue.length && size < this.limits.reports) {
      chars += histogramChars(this.queue[size]!.request)
      if (size > 0 && chars > this.limits.histogramChars) break
      size++
    }
    const batch = this.queue.splice(0, size)
    this.inFlight = batch
    try {
      const requests = batch.map((p) => p.request)
      const replies = this.pool
        ? ((await this.pool.run({ dbFile: this.dbFile!, batch: requests })) as IntakeReply[])
        : intakeBatch(this.store, requests)
      batch.forEach((pending, i) => pending.resolve(resultOf(replies[i]!)))
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    } finally {
      this.inFlight = []
      this.busy = false
      this.pump()
    }
  }
}

function histogramChars(request: IntakeRequest): number {
  let chars = 0
  for (const window of request.windows) {
    chars += window.latency.length
    for (const counts of Object.values(window.requests ?? {})) chars += counts.latency.length
  }
  return chars
}

function resultOf(reply: IntakeReply): IntakeResult {
  return {
    own: reply.own,
    latency: reply.latency.map((parts) => (parts ? SparseHistogram.fromParts(parts) : undefined)),
    stored: reply.stored,
  }
}
