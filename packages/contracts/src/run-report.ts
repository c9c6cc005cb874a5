import type { HookDelivery } from './hook-schema.js'
import type { Bounded, ErrorClass, RootCause } from './root-cause.js'
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
