import type { AgentLoss, Decision, ObservedStep, PlannedStep, WindowReport } from '@gauntlet/contracts'
import type { Scenario } from '../scenario/scenario.js'

export interface LoadOutcome {
  aborted: boolean
  peakConnections: number
  /** Remote agents that carried the load. */
  agents?: Array<{ name: string; capacityRps: number }>
  agentLosses?: AgentLoss[]
  /** Why the load stopped itself before the plan ended (an agent lost under onAgentLoss: abort, say). */
  stoppedBy?: string
  /** What went wrong without stopping the load (an agent's report refused, say): each degrades the run. */
  warnings?: string[]
}

export interface LoadControl {
  /**
   * Move every connection to a new socket (so a fault on new connections reaches all of them). Settles
   * once every generator has been told (remote agents: once each answered or could not be reached).
   */
  reconnect(): void | Promise<void>
  /**
   * Replace the plan from run second `fromS` on (a step gate's hold). Resolves false when refused (too
   * late for that second, or the run has ended). Absent where the load cannot be replanned.
   */
  replan?(fromS: number, tail: PlannedStep[]): Promise<boolean>
}

/** What the run service needs from whatever generates the load: the embedded agent, or remote agents. */
export interface LoadAgent {
  run(
    scenario: Scenario,
    options: {
      runId: string
      onWindow: (window: WindowReport) => void
      /** Second 0 of the run has begun at `epochMs` (faults are timed from it). */
      onStart?: (epochMs: number) => void
      /** Hands over what the run may ask of the load while it runs. */
      onControl?: (control: LoadControl) => void
      signal: AbortSignal
    },
  ): Promise<LoadOutcome>
}

/** Checks, without sending a request, that the target accepts connections. Resolves to a reason when not. */
export type TargetProbe = (url: string, timeoutMs: number) => Promise<string | undefined>

export interface Clock {
  now(): Date
}

/** Live progress for whoever started the run (CLI printer, SSE stream later). */
export interface RunObserver {
  started?(info: { runId: string; steps: number }): void
  window?(window: WindowReport): void
  step?(step: ObservedStep): void
  decision?(decision: Decision): void
}

// The fault port is declared by its consumer, faults/RunFaults, so faults/ needs nothing from run/.
export type { AppliedFault, FaultInjector } from '../faults/fault-injector.js'
