import type { HookDelivery } from './hook-schema.js'
import type { ErrorCounts } from './window-schema.js'

export type RunVerdict = 'pass' | 'fail' | 'error'
/**
 * pass | fail; aborted: the step was cut short; generator-limited: the load generator could not send
 * the plan on schedule, so the client, not the target, was the limit (never a pass, never capacity).
 */
export type StepVerdict = 'pass' | 'fail' | 'aborted' | 'generator-limited'

export interface ThresholdResult {
  threshold: string
  metric: string
  /** Observed value in the threshold's unit (ms, fraction, rps); null when there was nothing to measure. */
  observed: number | null
  limit: number
  pass: boolean
  /**
   * How sure the data makes it: 95% bounds of the metric (null where the sample cannot bound that
   * side) and pass (even the worst bound meets the limit), fail (even the best bound breaks it) or
   * insufficient. Reported beside `pass`; the step's verdict follows `pass`, except in a strict run
   * (`--strict`, or `decision.insufficient: fail`), where only a bound that meets the limit passes.
   */
  evidence?: { n: number; lower: number | null; upper: number | null; confidence: 'pass' | 'fail' | 'insufficient' }
}

/** A step as the run observed it: what it planned, what was measured after its warmup, and its verdict. */
export interface ObservedStep {
  index: number
  plannedRps: number
  /** Sends per wall-clock second over its judged seconds (each window's `sent`: what left in that second). */
  achievedRps: number
  durationS: number
  /** Seconds at the start of the step excluded from its verdict and statistics. */
  warmupS: number
  planned: number
  sent: number
  /** Requests answered by the target (any status) or failed at transport level. */
  completed: number
  errors: number
  errorRate: number
  errorsByClass: ErrorCounts
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  generatorLimited: boolean
  /** Some of its judged seconds lack the share of an agent that was lost (see RunSummary.agentLosses). */
  degraded?: boolean
  /** Seconds the step gate held the step past its planned end (durationS includes them). */
  heldS?: number
  verdict: StepVerdict
  /** Why a step did not pass when its thresholds do not say it (generator-limited, strict). */
  reason?: string
  thresholds: ThresholdResult[]
  /** A mix's requests over the same judged seconds, by name (absent for a scenario of one request). */
  requests?: Record<string, RequestStats>
}

/** One request of a mix over a step's judged seconds: the step's own measures, for that request alone. */
export type RequestStats = Pick<
  ObservedStep,
  'sent' | 'completed' | 'errors' | 'errorRate' | 'errorsByClass' | 'p50Ms' | 'p90Ms' | 'p99Ms' | 'maxMs'
>

export const runStatuses = ['running', 'passed', 'failed', 'aborted', 'interrupted', 'error'] as const
export type RunStatus = (typeof runStatuses)[number]

export interface RunSummary {
  runId: string
  /** passed | failed | error, or aborted when a stop cut the run short of a verdict. */
  status: RunStatus
  scenario: string
  target: string
  verdict: RunVerdict
  capacityRps: number | null
  reasons: string[]
  warnings: string[]
  startedAt: string
  finishedAt: string
  steps: ObservedStep[]
  /** Remote agents that carried the load (absent for the embedded agent). */
  agents?: Array<{ name: string; capacityRps: number }>
  /** An agent was lost mid-run: some seconds lack its share. Never a silent pass. */
  degraded?: boolean
  agentLosses?: AgentLoss[]
  /** Every fault of the scenario, with planned and actual apply and revert times. */
  faults?: FaultRecord[]
  /** The run rolled back: faults reverted first, then load stopped, then onRollback hooks fired. */
  rollback?: { step: number; guard?: string; reason: string; at: string }
  /** Every decision taken, in order, with the evidence behind it. */
  decisions?: Decision[]
  /** The target's own series (targetMetrics), summarised; every scrape is at GET /api/runs/:id/target-metrics. */
  targetMetrics?: TargetSeriesSummary[]
  /** Every hook delivery, with each attempt. */
  hooks?: HookDelivery[]
}

/**
 * One judgement and what the run did about it: the record a person reads to see exactly why the run
 * advanced, held, rolled back or stopped. Every source is judged the same way (95% bounds, see
 * `evidence`) and built by one builder:
 * - a scenario's per-step `thresholds:`: one per threshold at each judged step's end (advance, stop, continue);
 * - the `decision:` section's guards: one per guard per evaluation span (continue, or rollback when the
 *   span trips the guard), one per guard at each step gate (advance, hold, rollback), and one per leak
 *   guard after the load (continue or rollback).
 */
export type DecisionVerdict = 'pass' | 'fail' | 'insufficient'
export type DecisionAction = 'advance' | 'hold' | 'rollback' | 'stop' | 'continue'

export interface Decision {
  /** ISO time the decision was taken. */
  at: string
  /** 0-based step index. */
  step: number
  /**
   * What took it: an evaluation span's verdict (`window`), a step gate, a threshold at its step's end,
   * or a leak guard after the load.
   */
  source?: 'window' | 'gate' | 'threshold' | 'leak'
  /** The guard's name, or a threshold's text for a per-step threshold. */
  guard: string
  /** A guard's healthy condition ("p99 < 800ms", "success_rate drop < 2pp"); the evidence is in its unit. */
  condition?: string
  /**
   * The verdict of the 95% bounds: FAIL when even the favourable bound breaks the limit (a threshold:
   * when its point estimate does), PASS when even the unfavourable one meets it, otherwise insufficient.
   * Data a lost agent or a generator-limited second left short can fail, never pass.
   */
  verdict: DecisionVerdict
  /** What the run did. `continue`: the run went on as planned (a judged span, or a dry-run guard, changed nothing). */
  action: DecisionAction
  /** A dry-run guard: `reason` says what it would have done; the run acted on nothing. */
  dryRun?: boolean
  /** Why, in words: "3 of the last 5 windows failed", "held 6m without evidence", "would have rolled back at 3m12s". */
  reason?: string
  evidence: {
    n: number
    estimate: number | null
    lower: number | null
    upper: number | null
    limit: number
    /** How sure the 95% bounds make the verdict. */
    confidence: 'pass' | 'fail' | 'insufficient'
    /**
     * Seconds of the run the evidence covers: [windowStart, windowEnd) (an evaluation span, or a step's judged
     * seconds).
     */
    windowStart: number
    windowEnd: number
    /** baseline guards: what the window was compared with (estimate in the metric's unit). */
    baseline?: { source: string; n: number; estimate: number | null }
  }
}

export interface TargetSeriesSummary {
  series: string
  scrapes: number
  /** Median before the load; peak (and when, in run seconds); median at the end of the cooldown. */
  preLoad: number | null
  peak: number | null
  peakAtS: number | null
  end: number | null
  /** Growth over the pre-load level, as fractions. */
  peakGrowth: number | null
  endGrowth: number | null
  /** The series stayed above its pre-load level from this second to the end: when a leak started. */
  growingSinceS: number | null
}

export interface FaultRecord {
  id: string
  type: string
  /** What ran: netem, proxy, iptables or tbf (auto decided before the run). */
  mechanism: string
  targets: string[]
  plannedApplyAt: string
  appliedAt: string | null
  plannedRevertAt: string
  revertedAt: string | null
  /** A read-back of the target's namespace showed nothing of the fault after its revert. */
  revertVerified: boolean
  notes: string[]
  /** Why it was not applied (or not reverted cleanly). */
  error?: string
  /** The fault-capable agent whose Docker engine held it (absent: the engine of the process that ran it). */
  agent?: string
  /** What held it: a holder container or the host's nsenter. */
  injector?: 'holder' | 'host'
}

export interface AgentLoss {
  agent: string
  lostAt: string
  reason: string
  /** Last window it delivered (-1: none). */
  lastWindow: number
  /** First window from which the survivors carried its share; null when nothing moved (abort, or no survivor). */
  redistributedFrom: number | null
  /** Windows that lack its share. */
  gapWindows: number
  /** Survivors that could not take their part of its share (their replan failed): those seconds fall short. */
  notCarriedBy?: string[]
}
