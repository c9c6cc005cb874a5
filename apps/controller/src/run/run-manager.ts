import {
  GauntletError,
  type Decision,
  type RunSummary,
  type ObservedStep,
  type WindowReport,
} from '@gauntlet/contracts'
import { parseAllowList } from '@gauntlet/http'
import { defaultLimits } from '../config/controller-settings.js'
import type { Scenario } from '../scenario/scenario.js'
import type { RunStatus } from '../storage/run-store.js'
import { RunAdmission, type ListenAddress } from './run-admission.js'
import { executeRun, type RunDependencies } from './run-service.js'

export type RunEvent =
  | { type: 'window'; runId: string; window: WindowReport }
  | { type: 'step'; runId: string; step: ObservedStep }
  | { type: 'decision'; runId: string; decision: Decision }
  | { type: 'status'; runId: string; status: RunStatus; summary?: RunSummary }
  | { type: 'warning'; runId: string; text: string }

type Listener = (event: RunEvent) => void

interface ActiveRun {
  abort: AbortController
  listeners: Set<Listener>
  finished: Promise<unknown>
}

/**
 * Runs in the background for the controller: starts them, lets HTTP clients follow and abort them,
 * and stops them all on shutdown. The run itself is executeRun, as in `gauntlet run`. Every start,
 * whatever its entry (REST, schedules), passes the run admission first.
 */
export class RunManager {
  private readonly active = new Map<string, ActiveRun>()
  /** Runs admitted and not yet finished, stored or still starting (the --max-runs count). */
  private inFlight = 0
  /** Windows received from agents since start (for /metrics). */
  windowsIngested = 0
  /** Set by close: no run starts after it. */
  private closed = false

  /** Without an admission: loopback targets and hooks only, default caps (tests and embedding). */
  constructor(
    private readonly deps: RunDependencies,
    private readonly admission: RunAdmission = new RunAdmission({
      targetAllow: parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW'),
      hookAllow: parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW'),
      limits: defaultLimits,
    }),
  ) {}

  /** The addresses the controller's server listens on: a run may not target them. */
  setListenAddresses(addresses: ReadonlyArray<ListenAddress | string>): void {
    this.admission.setListenAddresses(addresses)
  }

  /**
   * Admits a run, then starts it and resolves with its id as soon as it is stored; the run goes on in
   * the background. A refused run is neither stored nor probed: the GauntletError says why (located in
   * the YAML, named `file` in messages).
   */
  async start(parsed: Scenario, yaml: string, file = `scenario ${parsed.name}`): Promise<string> {
    await this.admission.check(parsed, { yaml, file })
    const scenario = await this.admission.readFiles(parsed, { yaml, file })
    // Before anything is stored or loaded: each fault has somewhere to go (409 naming the target if not).
    if (scenario.faults.length > 0) await this.deps.faults?.assertPlaceable?.(scenario.faults.map((f) => f.spec))
    // After the last await, so that the count and the reservation cannot interleave with another start
    // (nor with a shutdown that began while this run was being admitted).
    if (this.closed) throw new GauntletError('conflict', 'the controller is stopping: no new run starts')
    this.admission.assertRoom(this.inFlight)
    this.inFlight++
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
          warning: (text) => publish({ type: 'warning', runId, text }),
        },
      })
        .then(
          (summary) => {
            publish({ type: 'status', runId, status: summary.status, summary })
          },
          (error: unknown) => {
            if (!runId) return reject(error instanceof Error ? error : new Error(String(error)))
            publish({ type: 'status', runId, status: 'error' })
          },
        )
        .finally(() => {
          this.inFlight--
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

  /** Asks a run to stop and resolves once it has stored its summary (and freed its --max-runs slot). */
  async abortAndWait(runId: string): Promise<void> {
    const run = this.active.get(runId)
    if (!run) return
    run.abort.abort()
    await run.finished
  }

  /** Follows a running run's events; returns the function that stops following, or undefined if not running. */
  subscribe(runId: string, listener: Listener): (() => void) | undefined {
    const run = this.active.get(runId)
    if (!run) return undefined
    run.listeners.add(listener)
    return () => run.listeners.delete(listener)
  }

  /** The controller is stopping: no run starts any more, and every run stops (see shutdown). */
  close(): Promise<void> {
    this.closed = true
    return this.shutdown()
  }

  /** Stops every run and waits until each has stored its summary. */
  async shutdown(): Promise<void> {
    const runs = [...this.active.values()]
    for (const run of runs) run.abort.abort()
    await Promise.allSettled(runs.map((run) => run.finished))
  }
}
