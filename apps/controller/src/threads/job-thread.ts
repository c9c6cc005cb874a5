import { GauntletError, type ErrorCode, type Problem } from '@gauntlet/contracts'
import { parentPort } from 'node:worker_threads'

/** A GauntletError as it crosses threads (structured clone keeps no class). */
export interface CarriedError {
  code: ErrorCode
  message: string
  problems: Problem[]
  source: string | undefined
}

/** error null: anything but a GauntletError, whose message stays on this side (500s never leak internals). */
export type JobReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: CarriedError | null }

/** The thread side of a JobPool: performs each job it is sent and replies with its value or its error. */
export function serveJobs<Job>(perform: (job: Job) => unknown): void {
  parentPort?.on('message', (message: Job & { id: number }) => {
    void (async (): Promise<JobReply> => {
      try {
        return { id: message.id, ok: true, value: await perform(message) }
      } catch (error) {
        return {
          id: message.id,
          ok: false,
          error:
            error instanceof GauntletError
              ? { code: error.code, message: error.message, problems: error.problems, source: error.source }
              : null,
        }
      }
    })().then((reply) => parentPort!.postMessage(reply))
  })
  // Loaded: the pool starts a job's time budget from here, so a fresh thread's module loading never counts.
  parentPort?.postMessage({ ready: true })
}
