import { sumWindows } from '@gauntlet/agent/generator'
import type { WindowReport } from '@gauntlet/contracts'
import type { Histogram } from '@gauntlet/metrics'

export interface MergeFrame {
  index: number
  step: number
  /** Planned sends of every agent that had a share of this second, delivered or not. */
  planned: number
  /** Start of this second on the controller's clock, used when no agent delivered it. */
  startedAt: number
  /**
   * The parts' latency histograms already merged (as they arrived, see DistributedRun); absent, they are
   * decoded and merged here. Either way the encoded result is the same.
   */
  latency?: Histogram
}

/**
 * One window from the agents' windows of the same second, summed as an agent sums its threads'
 * (sumWindows). `complete` speaks for the windows that arrived; an agent that owed this second and was
 * lost is listed in `missingAgents` (its planned sends stay in `planned`, so the shortfall shows), and
 * the run is marked degraded.
 */
export function mergeWindows(
  frame: MergeFrame,
  parts: readonly WindowReport[],
  missingAgents: readonly string[],
): WindowReport {
  return {
    index: frame.index,
    step: frame.step,
    startedAt: parts.length > 0 ? Math.min(...parts.map((p) => p.startedAt)) : frame.startedAt,
    planned: frame.planned,
    ...sumWindows(parts, frame.latency),
    complete: parts.length > 0 && parts.every((p) => p.complete),
    agents: parts.length,
    skewMs:
      parts.length > 0 ? Math.max(...parts.map((p) => p.startedAt)) - Math.min(...parts.map((p) => p.startedAt)) : 0,
    ...(missingAgents.length > 0 ? { missingAgents: [...missingAgents] } : {}),
  }
}
