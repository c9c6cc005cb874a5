import type { FaultSpec, Impact, RunReport, Suspect, WindowReport } from '@gauntlet/contracts'
import type { Incident } from '../incident.js'

/**
 * What the run stored does not hold a fault's parameters (delay, rate, percent) or the request timeout:
 * they are in the scenario stored with the run (StoredRun.scenarioYaml). The report's caller parses it
 * and passes them here; without them the fault rules say what they could not check.
 */
export interface RootCausePlan {
  /** target.timeout of the scenario, ms. */
  requestTimeoutMs: number
  /** The scenario's faults as specs; `id` is the scenario's fault id (FaultRecord.id). */
  faults: readonly FaultSpec[]
}

/** What every rule reads. */
export interface RuleContext {
  report: RunReport
  windows: readonly WindowReport[]
  plan?: RootCausePlan
  incident: Incident
  /** The first second beyond the baseline's bounds; undefined when none was. */
  degradedAtS?: number
  impact: Impact | null
}

/**
 * A suspect before ranking. `score` (0..1) is what the ranker orders by; each rule says what its score
 * measures in `rankedBy`:
 * - a fault: the share of the excess errors its mechanism explains, or 0.5 when it explains only a
 *   latency rise beyond the 95% bounds;
 * - the generator: the share of the incident's seconds it could not send on schedule;
 * - a target series: 0.4 when it grew and did not come back (the leak rule), 0.3 when it only jumped.
 */
export interface Candidate extends Omit<Suspect, 'rank'> {
  score: number
}

/** A rule: the suspects one kind of evidence points at (none is a valid answer). */
export type Rule = (context: RuleContext) => Candidate[]

export const pct = (fraction: number): string => `${Math.round(fraction * 1000) / 10}%`
