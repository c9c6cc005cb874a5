import { requestPlanOf } from '../load/plan-from-wire.js'
import { GauntletError, type Assignment, type PlannedStep, type WindowReport } from '@gauntlet/contracts'
import { connectionTargetFor } from '../load/connection-target.js'
import { responseExpectationFor } from '../load/response-expectation.js'
import type { LoadRunResult } from '../load/load-generator.js'
import type { WorkerLoadRun } from '../load/worker-load-generator.js'
import { startLoadInWorkers } from '../load/multi-worker-load.js'
import { assertHostAllowed, assertTargetResolvesAllowed, type TargetAllowList } from '../safety/target-allow-list.js'

export interface AssignmentEvents {
  /** A window closed; `startedAt` is already on the controller's clock. */
  window(runId: string, window: WindowReport): void
  /** The run's load ended (finished, stopped or failed: `error` says why); nothing more comes for it. */
  done(runId: string, result: LoadRunResult, error?: Error): void
}

interface Running {
  assignment: Assignment
  /** Local epoch ms at which this agent accepted the assignment. */
  acceptedAt: number
  stop: AbortController
  load: WorkerLoadRun
}

/** An assignment must arrive at least this long before its start, so connections can be warmed. */
const minLeadMs = 100

/** The load runs this agent is carrying, each on the agent's load threads. */
export class Assignments {
  private readonly running = new Map<string, Running>()

  constructor(
    private readonly allow: TargetAllowList,
    private readonly events: AssignmentEvents,
    /** Controller clock minus local clock, in ms. */
    private readonly clockOffsetMs: () => number,
    /** Load threads per run (see startLoadInWorkers). */
    private readonly workers = 1,
  ) {}

  async start(assignment: Assignment): Promise<void> {
    const alreadyRunning = (): void => {
      if (this.running.has(assignment.runId))
        throw new GauntletError('conflict', `run ${assignment.runId} is already running here`)
    }
    alreadyRunning()
    const target = connectionTargetFor(assignment.target)
    const expect = responseExpectationFor(assignment.target)
    // The agent's own check: a controller cannot make it load a host outside its allow-list, by name
    // or by what the name resolves to now (a name may not point at loopback or metadata addresses).
    assertHostAllowed(target.hostname, this.allow)
    await assertTargetResolvesAllowed(target.hostname, this.allow)
    alreadyRunning()
    const offset = this.clockOffsetMs()
    const startAtLocal = assignment.startAt - offset
    if (startAtLocal - Date.now() < minLeadMs) {
      throw new GauntletError(
        'conflict',
        `run ${assignment.runId} starts in ${Math.round(startAtLocal - Date.now())} ms (this agent's clock): ` +
          `too late to join on time`,
      )
    }
    const stop = new AbortController()
    const load = startLoadInWorkers(
      {
        target,
        steps: assignment.steps,
        timeoutMs: assignment.target.timeoutMs,
        ...(expect !== undefined ? { expect } : {}),
        ...requestPlanOf(assignment, assignment.target.followRedirects),
        ...(assignment.connections !== undefined ? { connections: assignment.connections } : {}),
        maxConnections: assignment.maxConnections,
        startAtEpochMs: startAtLocal,
      },
      {
        signal: stop.signal,
        onWindow: (window) => this.events.window(assignment.runId, { ...window, startedAt: window.startedAt + offset }),
      },
      this.workers,
      this.allow,
    )
    this.running.set(assignment.runId, { assignment, acceptedAt: Date.now(), stop, load })
    load.result.then(
      (result) => this.finished(assignment.runId, result),
      (error: Error) => this.finished(assignment.runId, { aborted: true, peakConnections: 0 }, error),
    )
  }

  replan(runId: string, fromS: number, steps: PlannedStep[]): Promise<boolean> {
    const run = this.running.get(runId)
    if (!run) throw new GauntletError('not_found', `run ${runId} is not running here`)
    return run.load.replan(fromS, steps)
  }

  /**
   * Moves a run's connections to new sockets (a proxy delay began or drains); resolves once none will
   * send on its old socket again. False when it was not running.
   */
  async reconnect(runId: string): Promise<boolean> {
    const run = this.running.get(runId)
    await run?.load.reconnect()
    return run !== undefined
  }

  /** Stops a run's load; its started windows are still reported. False when it was not running. */
  stop(runId: string): boolean {
    const run = this.running.get(runId)
    if (!run) return false
    run.stop.abort()
    return true
  }

  stopAll(): void {
    for (const run of this.running.values()) run.stop.abort()
  }

  /** Runs accepted before `localTime` (so a heartbeat sent then could know about them). */
  acceptedBefore(localTime: number): string[] {
    return [...this.running.values()].filter((r) => r.acceptedAt < localTime).map((r) => r.assignment.runId)
  }

  list(): Array<{ runId: string; target: string; startAt: number }> {
    return [...this.running.values()].map(({ assignment }) => ({
      runId: assignment.runId,
      target: assignment.target.url,
      startAt: assignment.startAt,
    }))
  }

  get runIds(): string[] {
    return [...this.running.keys()]
  }

  /** Resolves once every run has ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((r) => r.load.result))
  }

  private finished(runId: string, result: LoadRunResult, error?: Error): void {
    this.running.delete(runId)
    this.events.done(runId, result, error)
  }
}
