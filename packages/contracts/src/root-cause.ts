/** The root-cause report of a chaos run (its own file: alert hooks carry it, and reports embed it). */

/** The error classes charts stack and root-cause rules read: transport classes, then status classes. */
export const errorClasses = ['timeout', 'refused', 'reset', 'tls', 'check', 'other', '4xx', '5xx', '3xx'] as const
export type ErrorClass = (typeof errorClasses)[number]

/** A value with its 95% bounds (null where the data cannot bound that side). */
export interface Bounded {
  estimate: number | null
  lower: number | null
  upper: number | null
}

export interface TimelineEntry {
  atS: number
  at: string
  kind:
    'fault-start' | 'fault-end' | 'degraded' | 'trip' | 'clear' | 'rollback' | 'hook' | 'recovered' | 'not-recovered'
  text: string
}

/** What changed between the prefault baseline and the seconds under the fault (or after the trip). */
export interface Impact {
  baseline: { fromS: number; toS: number; source: string }
  during: { fromS: number; toS: number }
  /** Success rate drop in percentage points, baseline minus during (positive: worse). */
  successRateDropPp: Bounded
  latency: Array<{
    quantile: 'p50' | 'p90' | 'p99'
    baselineMs: number | null
    duringMs: number | null
    changeMs: Bounded
  }>
  /** Error rate of each class (fraction of completed requests) before, during and after. */
  errorClasses: Array<{ class: ErrorClass; before: number; during: number; after: number | null }>
}

export interface Suspect {
  rank: number
  kind: 'fault' | 'target-metric' | 'generator'
  /** The fault id, the series name, or "load generator". */
  subject: string
  /** One line: why it is suspected. */
  reason: string
  evidence: string[]
  /** Which evidence ranked it where it is ("explains 97% of the errors", say). */
  rankedBy: string
}

export interface RootCause {
  /** One line a person reads first. */
  headline: string
  timeline: TimelineEntry[]
  impact: Impact | null
  /** Ranked, most likely first; empty means "no cause found", which is a valid answer. */
  suspects: Suspect[]
}
