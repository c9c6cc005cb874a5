import type { AgentLoss, StepSummary, WindowReport } from '@gauntlet/contracts'
import type { Scenario } from '../scenario/scenario.js'

export interface LoadOutcome {
  aborted: boolean
  peakConnections: number
  /** Remote agents that carried the load. */
  agents?: Array<{ name: string; capacityRps: number }>
  agentLosses?: AgentLoss[]
  /** Why the load stopped itself before the plan ended (an agent lost under onAgentLoss: abort, say). */
  stoppedBy?: string
}

/** What the run service needs from whatever generates the load: the embedded agent, or remote agents. */
export interface LoadAgent {
  run(
    scenario: Scenario,
    options: { runId: string; onWindow: (window: WindowReport) => void; signal: AbortSignal },
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
  step?(step: StepSummary): void
}
