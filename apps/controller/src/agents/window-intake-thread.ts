import { SqliteStore } from '../storage/sqlite-store.js'
import { serveJobs } from '../threads/job-thread.js'
import { intakeBatch, type IntakeRequest } from './window-intake-batch.js'

/**
 * The thread side of window-intake.ts: checks agents' windows and stores them through a connection of its
 * own to the controller's database (WAL), so that neither the decoding nor the wait for the disk's flush
 * (0.3 ms to tens of ms on a shared disk) is spent on the controller's event loop. Started from the built
 * JavaScript.
 */
export interface IntakeJob {
  dbFile: string
  batch: IntakeRequest[]
}

const stores = new Map<string, SqliteStore>()

serveJobs((job: IntakeJob) => {
  let store = stores.get(job.dbFile)
  if (!store) stores.set(job.dbFile, (store = new SqliteStore(job.dbFile)))
  return intakeBatch(store, job.batch)
})
