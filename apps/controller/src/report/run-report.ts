import {
  errorClasses,
  type ChartData,
  type ChartSeries,
  type Decision,
  type DecisionMark,
  type ErrorClass,
  type ErrorCounts,
  type FaultSpan,
  type ReportRunHeader,
  type RunReport,
  type RunSummary,
  type SecondSeries,
  type StepSpan,
  type WindowReport,
} from '@gauntlet/contracts'
import { decodeHistogram, summarizeLatency } from '@gauntlet/metrics'
import { findRootCause, type RootCausePlan } from './root-cause/root-cause.js'

/** What a report is made from: only what a run stored. */
export interface ReportInput {
  runId: string
  summary: RunSummary
  /** The run's merged 1 s windows, in order. */
  windows: readonly WindowReport[]
  /** Every scrape of the target's series (targetMetrics), in run seconds. */
  targetSeries: Readonly<Record<string, ReadonlyArray<{ atS: number; value: number }>>>
  reportUrl?: string
  /** The scenario's fault parameters and request timeout (not in the summary): what the root cause weighs. */
  plan?: RootCausePlan
}

/** Builds the report of a finished run (pure: no I/O). */
export function buildRunReport(input: ReportInput): RunReport {
  const { summary, windows } = input
  const startMs = runStartMs(summary, windows)
  const decisions = summary.decisions ?? []
  const notable = decisions.filter(isNotableDecision)
  const chart: ChartData = {
    seconds: secondSeries(windows),
    steps: stepSpans(summary, windows),
    faults: faultSpans(summary, startMs),
    marks: decisionMarks(decisions, summary, startMs),
    targetMetrics: Object.entries(input.targetSeries).map(([name, points]): ChartSeries => ({
      name,
      points: points.map((p) => [p.atS, p.value]),
    })),
  }
  const report: RunReport = {
    run: reportHeader(input.runId, summary),
    steps: summary.steps,
    chart,
    decisions: notable,
    quietDecisions: decisions.length - notable.length,
    faults: summary.faults ?? [],
    hooks: summary.hooks ?? [],
    targetMetrics: summary.targetMetrics ?? [],
    reasons: summary.reasons,
    warnings: summary.warnings,
    ...(summary.rollback ? { rollback: summary.rollback } : {}),
    rootCause: null,
    ...(input.reportUrl ? { reportUrl: input.reportUrl } : {}),
  }
  report.rootCause = findRootCause({ report, windows, ...(input.plan ? { plan: input.plan } : {}) })
  return report
}

/** What a report says of the run itself, from its summary alone. */
export function reportHeader(runId: string, summary: RunSummary): ReportRunHeader {
  return {
    id: runId,
    scenario: summary.scenario,
    target: summary.target,
    status: summary.status,
    verdict: summary.verdict,
    capacityRps: summary.capacityRps,
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    durationS: Math.max(0, Math.round((Date.parse(summary.finishedAt) - Date.parse(summary.startedAt)) / 1000)),
    agents: summary.agents?.map((a) => a.name) ?? ['in-process'],
    degraded: summary.degraded === true,
  }
}

/**
 * A decision worth a line: one that did something or says why. Window verdicts that changed nothing are
 * only counted (they are all in the summary and at GET /api/runs/:id/decisions).
 */
export function isNotableDecision(d: Decision): boolean {
  return d.source !== 'window' || d.action !== 'continue' || d.reason !== undefined
}

/** Epoch ms of run second 0: from the windows (each knows its start), else the summary's start. */
export function runStartMs(summary: RunSummary, windows: readonly WindowReport[]): number {
  const first = windows[0]
  return first ? first.startedAt - first.index * 1000 : Date.parse(summary.startedAt)
}

/** The class a status code is charted under. */
export function statusClass(status: string): ErrorClass {
  const family = status[0]
  return family === '5' ? '5xx' : family === '4' ? '4xx' : family === '3' ? '3xx' : 'other'
}

/** A window's errors by chart class. */
export function errorsByClass(errors: ErrorCounts): Record<ErrorClass, number> {
  const out = Object.fromEntries(errorClasses.map((c) => [c, 0])) as Record<ErrorClass, number>
  out.timeout = errors.timeout
  out.refused = errors.refused
  out.reset = errors.reset
  out.other = errors.other
  for (const [status, count] of Object.entries(errors.status)) out[statusClass(status)] += count
  return out
}

function secondSeries(windows: readonly WindowReport[]): SecondSeries {
  const series: SecondSeries = {
    t: [],
    step: [],
    planned: [],
    achieved: [],
    ok: [],
    completed: [],
    p50: [],
    p90: [],
    p99: [],
    max: [],
    errors: Object.fromEntries(errorClasses.map((c) => [c, []])) as unknown as SecondSeries['errors'],
    connections: [],
    generatorLimited: [],
  }
  for (const w of windows) {
    const latency = summarizeLatency(decodeHistogram(w.latency))
    const classes = errorsByClass(w.errors)
    let errors = 0
    for (const c of errorClasses) {
      series.errors[c].push(classes[c])
      errors += classes[c]
    }
    series.t.push(w.index)
    series.step.push(w.step)
    series.planned.push(w.planned)
    series.achieved.push(w.sent)
    series.ok.push(w.ok)
    series.completed.push(w.ok + errors)
    series.p50.push(latency.p50Ms)
    series.p90.push(latency.p90Ms)
    series.p99.push(latency.p99Ms)
    series.max.push(latency.maxMs)
    series.connections.push(w.openConnections)
    series.generatorLimited.push(w.generatorLimited ? 1 : 0)
  }
  return series
}

/** Each step from its first stored window to the end of its last; without windows, from the summary's durations. */
function stepSpans(summary: RunSummary, windows: readonly WindowReport[]): StepSpan[] {
  const seen = new Map<number, { startS: number; endS: number }>()
  for (const w of windows) {
    const span = seen.get(w.step)
    if (span) span.endS = Math.max(span.endS, w.index + 1)
    else seen.set(w.step, { startS: w.index, endS: w.index + 1 })
  }
  let cursor = 0
  return summary.steps.map((step) => {
    const span = seen.get(step.index) ?? { startS: cursor, endS: cursor + step.durationS }
    cursor = span.endS
    return { index: step.index, plannedRps: step.plannedRps, ...span, verdict: step.verdict }
  })
}

const secondsAfter = (startMs: number, iso: string | null): number | null =>
  iso === null ? null : Math.round((Date.parse(iso) - startMs) / 100) / 10

function faultSpans(summary: RunSummary, startMs: number): FaultSpan[] {
  return (summary.faults ?? []).map((f) => ({
    id: f.id,
    type: f.type,
    mechanism: f.mechanism,
    ...(f.injector ? { injector: f.injector } : {}),
    ...(f.agent ? { agent: f.agent } : {}),
    startS: secondsAfter(startMs, f.appliedAt),
    endS: secondsAfter(startMs, f.revertedAt),
    plannedStartS: secondsAfter(startMs, f.plannedApplyAt)!,
    plannedEndS: secondsAfter(startMs, f.plannedRevertAt)!,
    ...(f.error ? { error: f.error } : {}),
  }))
}

/** The decisions drawn as lines: gates (once per gate, not per guard), trips, clears, dry runs, stops, the rollback. */
function decisionMarks(decisions: readonly Decision[], summary: RunSummary, startMs: number): DecisionMark[] {
  const marks: DecisionMark[] = []
  const add = (mark: DecisionMark): void => {
    if (!marks.some((m) => m.atS === mark.atS && m.kind === mark.kind && m.step === mark.step)) marks.push(mark)
  }
  for (const d of decisions) {
    const kind = markKind(d)
    if (!kind) continue
    const atS = d.evidence.windowEnd
    const label =
      d.source === 'gate'
        ? `${kind}: ${d.reason ?? ''}`
        : d.source === 'threshold'
          ? kind === 'advance'
            ? 'advance: thresholds met'
            : `stop: "${d.guard}" failed`
          : `${kind}: ${d.guard} ${d.reason ?? ''}`
    add({ atS, step: d.step, kind, label: label.trim() })
  }
  if (summary.rollback) {
    const atS = secondsAfter(startMs, summary.rollback.at)!
    add({ atS, step: summary.rollback.step, kind: 'rollback', label: `rollback: ${summary.rollback.reason}` })
  }
  return marks.sort((a, b) => a.atS - b.atS)
}

function markKind(d: Decision): DecisionMark['kind'] | undefined {
  if (d.source === 'gate' && !d.dryRun) return d.action === 'continue' ? undefined : d.action
  if (d.reason?.startsWith('would have rolled back')) return 'dry-run'
  if (d.reason?.startsWith('cleared')) return 'clear'
  if (d.source === 'window' && d.action === 'rollback') return 'trip'
  if (d.source === 'leak' && d.action === 'rollback') return 'rollback'
  // Without a decision section, a step's thresholds advance or stop the ramp at its end.
  if (d.source === 'threshold' && (d.action === 'stop' || d.action === 'advance')) return d.action
  return undefined
}
