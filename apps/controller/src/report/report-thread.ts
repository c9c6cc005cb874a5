import type { RootCause } from '@gauntlet/contracts'
import { scenarioSecrets } from '../security/redact.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { serveJobs } from '../threads/job-thread.js'
import { loadReportAssets } from './report-assets.js'
import { reportLink } from './report-formats.js'
import { ReportMaker, type ReportRequest } from './report-maker.js'
import { localPlan } from './root-cause-plan.js'
import { buildRunReport, type ReportInput } from './run-report.js'

/**
 * The thread side of report-pool.ts: a stored run's report, or the root cause an alert hook carries,
 * made on its own thread from the controller's database through a connection of its own (WAL: readers
 * never wait for the writer). Started from the built JavaScript.
 */
export type ReportJob =
  | {
      task: 'report'
      dbFile: string
      runId: string
      request: ReportRequest
      /** The controller's --public-url: the report links itself under it. */
      publicUrl?: string
    }
  /** A run that is ending: its summary so far, with the windows it stored. */
  | { task: 'root-cause'; dbFile: string; input: Omit<ReportInput, 'windows'> }

const stores = new Map<string, SqliteStore>()

function storeOf(file: string): SqliteStore {
  let store = stores.get(file)
  if (!store) stores.set(file, (store = new SqliteStore(file)))
  return store
}

function perform(job: ReportJob): Promise<unknown> | RootCause | null {
  const store = storeOf(job.dbFile)
  if (job.task === 'root-cause')
    return buildRunReport({ ...job.input, windows: store.windows(job.input.runId) }).rootCause
  const { publicUrl } = job
  return new ReportMaker({
    store,
    secrets: scenarioSecrets,
    plan: localPlan,
    assets: loadReportAssets,
    ...(publicUrl ? { reportUrl: (id: string) => reportLink(publicUrl, id) } : {}),
  }).storedRun(job.runId, job.request)
}

serveJobs(perform)
