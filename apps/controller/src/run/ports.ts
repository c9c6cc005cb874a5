import type { StepSummary, WindowReport } from '@gauntlet/contracts'
import type { Scenario } from '../scenario/scenario.js'

/** What the run service needs from whatever generates the load (in-process today, remote agents later). */
export interface LoadAgent {
  run(
    scenario: Scenario,
    options: { onWindow: (window: WindowReport) => void; signal: AbortSignal },
  ): Promise<{ aborted: boolean; peakConnections: number }>
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
