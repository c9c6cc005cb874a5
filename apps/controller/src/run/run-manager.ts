import { GauntletError, type Decision, type RunSummary, type StepSummary, type WindowReport } from '@gauntlet/contracts'
import type { Scenario } from '../scenario/scenario.js'
import type { RunStatus } from '../storage/run-store.js'
import { executeRun, type RunDependencies } from './run-service.js'

export type RunEvent =
  | { type: 'window'; runId: string; window: WindowReport }
  | { type: 'step'; runId: string; step: StepSummary }
  | { type: 'decision'; runId: string; decision: Decision }
  | { type: 'status'; runId: string; status: RunStatus; summary?: RunSummary }

type Listener = (event: RunEvent) => void

interface ActiveRun {
  abort: AbortController
  listeners: Set<Listener>
  finished: Promise<unknown>
}

/**
 * Runs in the background for the controller: starts them, lets HTTP clients follow and abort them,
 * and stops them all on shutdown. The run itself is executeRun, as in `gauntlet run`.
 */
export class RunManager {
  private readonly active = new Map<string, ActiveRun>()
  /** Windows received from agents since start (for /metrics). */
  windowsIngested = 0

  constructor(private readonly deps: RunDependencies) {}

  /** Starts a run and resolves with its id as soon as it is stored; the run goes on in the background. */
  start(scenario: Scenario, yaml: string): Promise<string> {
    const abort = new AbortController()
    const listeners = new Set<Listener>()
    const entry: ActiveRun = { abort, listeners, finished: Promise.resolve() }
    let runId = ''
    const publish = (event: RunEvent): void => {
      for (const listener of listeners) listener(event)
    }
    return new Promise<string>((resolve, reject) => {
      entry.finished = executeRun(this.deps, {
        scenario,
        yaml,
        signal: abort.signal,
        observer: {
          started: ({ runId: id }) => {
            runId = id
            this.active.set(id, entry)
            publish({ type: 'status', runId: id, status: 'running' })
            resolve(id)
          },
          window: (window) => {
            this.windowsIngested++
            publish({ type: 'window', runId, window })
          },
          step: (step) => publish({ type: 'step', runId, step }),
          decision: (decision) => publish({ type: 'decision', runId, decision }),
        },
      }).then(
        (summary) => {
          publish({ type: 'status', runId, status: summary.status, summary })
        },
        (error: unknown) => {
          if (!runId) return reject(error)
          publish({ type: 'status', runId, status: 'error' })
        },
      ).finally(() => {
        this.active.delete(runId)
        listeners.clear()
      })
    })
  }

  isActive(runId: string): boolean {
    return this.active.has(runId)
  }

  get activeCount(): number {
    return this.active.size
  }

  /** Asks a running run to stop; it is then judged on what it saw. */
  abort(runId: string): void {
    const run = this.active.get(runId)
    if (!run) throw new GauntletError('conflict', `run ${runId} is not running`)
    run.abort.abort()
  }

  /** Follows a running run's events; returns the function that stops following, or undefined if not running. */
  subscribe(runId: string, listener: Listener): (() => void) | undefined {
    const run = this.active.get(runId)
    if (!run) return undefined
    run.listeners.add(listener)
    return () => run.listeners.delete(listener)
  }

  /** Stops every run and waits until each has stored its summary. */
  async shutdown(): Promise<void> {
    const runs = [...this.active.values()]
    for (const run of runs) run.abort.abort()
    await Promise.allSettled(runs.map((run) => run.finished))
  }
}
