import type { ReportRunHeader, RunReport, RunSummary, WindowReport } from '@gauntlet/contracts'
import { buildChartData, isNotableDecision, type RunWindow } from '@gauntlet/chart-data'
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

/**
 * Builds the report of a finished run (pure: no I/O). Its charts come from the one builder the dashboard
 * uses too (@gauntlet/chart-data), fed each window's percentiles from its histogram.
 */
export function buildRunReport(input: ReportInput): RunReport {
  const { summary, windows } = input
  const decisions = summary.decisions ?? []
  const notable = decisions.filter(isNotableDecision)
  const chart = buildChartData({
    windows: windows.map((w): RunWindow => ({ ...w, latencyMs: summarizeLatency(decodeHistogram(w.latency)) })),
    steps: summary.steps,
    decisions,
    faults: summary.faults ?? [],
    rollback: summary.rollback,
    startedAt: summary.startedAt,
    targetSeries: input.targetSeries,
  })
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
