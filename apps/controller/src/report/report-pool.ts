import { GauntletError, type RootCause } from '@gauntlet/contracts'
import { JobPool } from '../threads/job-pool.js'
import type { MadeReport, ReportRequest } from './report-maker.js'
import type { ReportJob } from './report-thread.js'
import type { ReportInput } from './run-report.js'

/**
 * The controller's reports on a thread of their own: a report decodes every second's histogram of its
 * run (about 0.5 ms a second, so a 1-hour run costs over a second and a 24-hour run far more), which on
 * the main thread would stall /healthz and every agent's heartbeat. One report is made at a time, four
 * may wait (beyond, 429), each within 2 minutes and 1 GiB.
 */
const reportPoolOptions = { threads: 1, queue: 4, budgetMs: 120_000, heapMb: 1024 } as const

// The thread runs built JavaScript: beside this file in dist, or the built copy when tests import the sources.
const workerFile = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/report/report-thread.js', import.meta.url)
  : new URL('./report-thread.js', import.meta.url)

export class ReportPool {
  private readonly pool = new JobPool<ReportJob>({
    workerFile,
    options: reportPoolOptions,
    refused: (job, what) =>
      new GauntletError(
        'unsupported',
        `the ${job.task} of run ${job.task === 'report' ? job.runId : job.input.runId} ${what} to make`,
      ),
    busy: 'too many reports are being made at once; retry in a few seconds',
  })

  constructor(
    private readonly dbFile: string,
    private readonly publicUrl?: string,
  ) {}

  /** The report of a finished stored run, made on the report thread. */
  async storedRun(runId: string, request: ReportRequest): Promise<MadeReport> {
    const job: ReportJob = {
      task: 'report',
      dbFile: this.dbFile,
      runId,
      request,
      ...(this.publicUrl ? { publicUrl: this.publicUrl } : {}),
    }
    return (await this.pool.run(job)) as MadeReport
  }

  /** The root cause of a run that is ending (its windows are stored; its summary is not yet), for its alerts. */
  async rootCause(input: Omit<ReportInput, 'windows'>): Promise<RootCause | null> {
    return (await this.pool.run({ task: 'root-cause', dbFile: this.dbFile, input })) as RootCause | null
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
