import { loadReportAssets } from './report-assets.js'
import { reportLink } from './report-formats.js'
import { ReportMaker, type ReportRequest } from './report-maker.js'
import { localPlan } from './root-cause-plan.js'
import { scenarioSecrets } from '../security/redact.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { serveJobs } from '../threads/job-thread.js'

/**
 * The thread side of report-pool.ts: a stored run's report made on its own thread, reading the
 * controller's database through a connection of its own (WAL: readers never wait for the writer).
 * Started from the built JavaScript.
 */
export interface ReportJob {
  dbFile: string
  runId: string
  request: ReportRequest
  /** The controller's --public-url: the report links itself under it. */
  publicUrl?: string
}

const stores = new Map<string, SqliteStore>()

function makeReport(job: ReportJob): Promise<unknown> {
  let store = stores.get(job.dbFile)
  if (!store) stores.set(job.dbFile, (store = new SqliteStore(job.dbFile)))
  const { publicUrl } = job
  return new ReportMaker({
    store,
    secrets: scenarioSecrets,
    plan: localPlan,
    assets: loadReportAssets,
    ...(publicUrl ? { reportUrl: (id: string) => reportLink(publicUrl, id) } : {}),
  }).storedRun(job.runId, job.request)
}

serveJobs(makeReport)
