import type { HookDelivery } from './hook-schema.js'
import type { Decision, FaultRecord, ObservedStep, RunStatus, RunVerdict, TargetSeriesSummary } from './summary.js'

/**
 * Everything a report shows, built only from what a run stored (summary, windows, decisions, target
 * scrapes), so any stored run's report can be made again later. The HTML, Markdown and JUnit renderers
 * and the dashboard read this; the charts read its `chart` part.
 */
export interface RunReport {
  run: ReportRunHeader
  steps: ObservedStep[]
  /** Per-second series and the bands drawn on every time chart. */
  chart: ChartData
  /** Decisions that did something or say why (gates, trips, clears, dry runs, thresholds); window verdicts that changed nothing are counted in `quietDecisions`. */
  decisions: Decision[]
  quietDecisions: number
  faults: FaultRecord[]
  hooks: HookDelivery[]
  targetMetrics: TargetSeriesSummary[]
  reasons: string[]
  warnings: string[]
  rollback?: { step: number; guard?: string; reason: string; at: string }
  /** For runs with faults or a tripped guard; null otherwise. */
  rootCause: RootCause | null
  /** Where the HTML report of this run can be opened (a controller started with --public-url). */
  reportUrl?: string
}

export interface ReportRunHeader {
  id: string
  scenario: string
  target: string
  status: RunStatus
  verdict: RunVerdict
  capacityRps: number | null
  startedAt: string
  finishedAt: string
  durationS: number
  /** Agents that carried the load ("in-process" for the embedded agent). */
  agents: string[]
  degraded: boolean
}

/** The error classes charts stack and root-cause rules read: transport classes, then status classes. */
export const errorClasses = ['timeout', 'refused', 'reset', 'other', '4xx', '5xx', '3xx'] as const
export type ErrorClass = (typeof errorClasses)[number]

/**
 * One entry per stored 1 s window, columnar (index i of every array is the same second). `t[i]` is the
 * run second the window starts at; latency values are milliseconds (null: no successful response).
 */
export interface SecondSeries {
  t: number[]
  step: number[]
  planned: number[]
  /** Sends that left in this wall-clock second (achieved rate). */
  achieved: number[]
  ok: number[]
  /** Answered or failed at transport level (ok + errors): the denominator of error rates. */
  completed: number[]
  p50: Array<number | null>
  p90: Array<number | null>
  p99: Array<number | null>
  max: Array<number | null>
  errors: Record<ErrorClass, number[]>
  connections: number[]
  /** 1 when the generator could not send this second on schedule (shaded on every chart). */
  generatorLimited: number[]
}

export interface StepSpan {
  index: number
  plannedRps: number
  /** Run seconds [startS, endS): from the step's first stored window to the end of its last. */
  startS: number
  endS: number
  verdict: ObservedStep['verdict'] | null
}

export interface FaultSpan {
  id: string
  type: string
  mechanism: string
  injector?: 'holder' | 'host'
  agent?: string
  /** Run seconds it was in place (null start: never applied; null end: never reverted). */
  startS: number | null
  endS: number | null
  plannedStartS: number
  plannedEndS: number
  error?: string
}

/** A decision drawn as a vertical line: where the run advanced, held, tripped, cleared or rolled back. */
export interface DecisionMark {
  atS: number
  step: number
  kind: 'advance' | 'hold' | 'trip' | 'clear' | 'rollback' | 'stop' | 'dry-run'
  label: string
}

export interface ChartSeries {
  name: string
  points: Array<[atS: number, value: number]>
}

export interface ChartData {
  seconds: SecondSeries
  steps: StepSpan[]
  faults: FaultSpan[]
  marks: DecisionMark[]
  /** Every scrape of every targetMetrics series, in run seconds. */
  targetMetrics: ChartSeries[]
}

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

/** Two runs side by side per step: a release gate against the last release's run. */
export interface RunComparison {
  baseline: ComparedRun
  run: ComparedRun
  steps: ComparedStep[]
  /** Some step regressed beyond its 95% bounds (`--fail-on-regression` exits 1). */
  regressed: boolean
  /** What made the comparison partial (different step plans, a step only one run has, say). */
  notes: string[]
}

export interface ComparedRun {
  id: string
  scenario: string
  startedAt: string
  verdict: RunVerdict
  capacityRps: number | null
}

export interface ComparedStep {
  index: number
  plannedRps: number
  metrics: ComparedMetric[]
}

export interface ComparedMetric {
  metric: 'rps' | 'p50' | 'p90' | 'p99' | 'error_rate'
  baseline: number | null
  run: number | null
  /** run minus baseline, in the metric's unit, with 95% bounds of the change. */
  change: Bounded
  /** regressed / improved: the bounds exclude no change, in the worse / better direction. */
  verdict: 'regressed' | 'improved' | 'within-noise' | 'insufficient'
}
