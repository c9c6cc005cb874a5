import { totalErrors, type Decision, type RunSummary, type ObservedStep, type WindowReport } from '@gauntlet/contracts'
import { decodeHistogram, summarizeLatency } from '@gauntlet/metrics'
import { isRateMetric } from '../scenario/thresholds.js'
import { formatMs, formatObserved, formatPercent } from './format-values.js'

/** One line per 1 s window: where the ramp is, planned vs achieved rate, p50, p99, errors. */
export function progressLine(window: WindowReport, stepCount: number, plannedRps: number, warmup: boolean): string {
  const latency = summarizeLatency(decodeHistogram(window.latency))
  const errors = totalErrors(window.errors)
  const answered = window.ok + errors
  const flags = [
    warmup ? 'warmup' : '',
    window.generatorLimited ? 'GENERATOR-LIMITED' : '',
    window.complete ? '' : 'incomplete',
  ]
    .filter(Boolean)
    .join(' ')
  return [
    `${String(window.index + 1).padStart(4)}s`,
    `step ${window.step + 1}/${stepCount}`.padEnd(11),
    `planned ${fmtRate(plannedRps)}`.padEnd(16),
    `achieved ${fmtRate(window.sent)}`.padEnd(17),
    `p50 ${formatMs(latency.p50Ms)}`.padEnd(13),
    `p99 ${formatMs(latency.p99Ms)}`.padEnd(13),
    `err ${answered > 0 ? formatPercent(errors / answered) : '-'}`.padEnd(11),
    flags,
  ]
    .join(' ')
    .trimEnd()
}

const columns = [
  'step',
  'planned',
  'achieved',
  'sent',
  'completed',
  'errors',
  'err%',
  'p50',
  'p90',
  'p99',
  'max',
  'verdict',
] as const

/** The step table's headings and cells, one row per step (the HTML report shows the same values). */
export function stepGrid(steps: readonly ObservedStep[]): { headings: string[]; rows: string[][] } {
  const rows = steps.map((s) => [
    String(s.index + 1),
    fmtRate(s.plannedRps),
    fmtRate(s.achievedRps),
    String(s.sent),
    String(s.completed),
    String(s.errors),
    formatPercent(s.errorRate),
    formatMs(s.p50Ms),
    formatMs(s.p90Ms),
    formatMs(s.p99Ms),
    formatMs(s.maxMs),
    s.verdict.toUpperCase() + (s.generatorLimited && s.verdict !== 'generator-limited' ? ' (generator-limited)' : ''),
  ])
  return { headings: [...columns], rows }
}

/** One line per step; a step of a request mix is followed by its requests' table, indented under it. */
export function stepTable(steps: readonly ObservedStep[]): string {
  const { headings, rows } = stepGrid(steps)
  const widths = headings.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]!))).join('  ')
  return [
    line(headings),
    ...rows.flatMap((r, i) => {
      const requests = requestTable(steps[i]!)
      return requests === undefined ? [line(r)] : [line(r), ...requests.split('\n').map((l) => `${indent}${l}`)]
    }),
  ].join('\n')
}

const indent = ' '.repeat(6)
const requestColumns = ['request', 'sent', 'err%', 'p50', 'p99'] as const

/** The requests of a step's mix (sent, error rate, p50, p99 over its judged seconds); undefined without a mix. */
export function requestGrid(step: ObservedStep): { headings: string[]; rows: string[][] } | undefined {
  const entries = Object.entries(step.requests ?? {})
  if (entries.length === 0) return undefined
  const rows = entries.map(([name, r]) => [
    name,
    String(r.sent),
    formatPercent(r.errorRate),
    formatMs(r.p50Ms),
    formatMs(r.p99Ms),
  ])
  return { headings: [...requestColumns], rows }
}

/** A step's request table as text: names left-aligned, numbers right-aligned like the step table. */
export function requestTable(step: ObservedStep): string | undefined {
  const grid = requestGrid(step)
  if (!grid) return undefined
  const widths = grid.headings.map((c, i) => Math.max(c.length, ...grid.rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(grid.headings), ...grid.rows.map(line)].join('\n')
}

export function verdictLines(summary: RunSummary): string[] {
  const capacity = summary.capacityRps === null ? 'no step passed' : `capacity ${fmtRate(summary.capacityRps)} rps`
  return [
    ...decisionLines(summary.decisions ?? []),
    ...(summary.faults ?? []).map(faultLine),
    ...summary.warnings.map((w) => `warning: ${w}`),
    ...summary.reasons.map((r) => `reason: ${r}`),
    `verdict: ${summary.verdict.toUpperCase()} (${capacity}; run ${summary.runId})`,
  ]
}

function fmtRate(rps: number): string {
  return Number.isInteger(rps) ? String(rps) : rps.toFixed(1)
}

/** One line per fault: what ran where, planned and actual times, and whether the revert read back clean. */
function faultLine(fault: NonNullable<RunSummary['faults']>[number]): string {
  const time = (iso: string | null): string => (iso ? iso.slice(11, 23) : '-')
  const lag = (actual: string | null, planned: string): string =>
    actual && planned ? ` (${Date.parse(actual) - Date.parse(planned)} ms late)` : ''
  const outcome = fault.error
    ? `FAILED: ${fault.error}`
    : fault.revertedAt
      ? fault.revertVerified
        ? 'read back clean'
        : 'NOT clean after revert'
      : 'not reverted'
  return (
    `fault ${fault.id}: ${fault.type} via ${fault.mechanism} on ${fault.targets.join(', ') || '-'}; ` +
    `applied ${time(fault.appliedAt)}${lag(fault.appliedAt, fault.plannedApplyAt)}, ` +
    `reverted ${time(fault.revertedAt)}${lag(fault.revertedAt, fault.plannedRevertAt)}; ${outcome}`
  )
}

/**
 * One line per decision that did something or says why: gates, trips, clears, dry-run verdicts and
 * the per-step threshold decisions. Window verdicts that changed nothing are counted, not listed (they
 * are all in the summary and at GET /api/runs/:id/decisions).
 */
export function decisionLines(decisions: NonNullable<RunSummary['decisions']>): string[] {
  const shown = decisions.filter((d) => d.source !== 'window' || d.action !== 'continue' || d.reason !== undefined)
  const quiet = decisions.length - shown.length
  return [
    ...shown.map(decisionLine),
    ...(quiet > 0 ? [`decision: ${quiet} more window verdict(s) changed nothing (see the summary's decisions)`] : []),
  ]
}

/** One decision: the step, what the run did, the guard's verdict, the evidence behind it and why. */
function decisionLine(decision: NonNullable<RunSummary['decisions']>[number]): string {
  const condition = decision.condition ?? decision.guard
  const value = valueFormat(condition)
  const { n, estimate, lower, upper, confidence, windowStart, windowEnd, baseline } = decision.evidence
  // A threshold is its own condition: named once.
  const name =
    decision.condition && decision.condition !== decision.guard
      ? `${decision.guard} "${decision.condition}"`
      : `"${decision.guard}"`
  const action = decision.dryRun ? 'DRY-RUN' : decision.action.toUpperCase()
  const vs = baseline ? ` vs ${baseline.source}` : ''
  const why = decision.reason ? ` - ${decision.reason}` : ''
  return (
    `decision: step ${decision.step + 1} ${action}: ${name} ${decision.verdict.toUpperCase()} ` +
    `at ${value(estimate)} (95% ${value(lower)} to ${value(upper)}, n=${n}, ${confidence}; ` +
    `seconds ${windowStart < 0 ? `${windowStart} to ${windowEnd}` : `${windowStart}-${windowEnd}`}${vs})${why}`
  )
}

/** How a condition's evidence reads: a change from a baseline in pp or %, or the metric's own unit. */
function valueFormat(condition: string): (v: number | null) => string {
  const [, metric = '', change = ''] = /^\s*([a-z_0-9:]+)(?:\s+(drop|rise|growth))?/i.exec(condition) ?? []
  const relative = change !== '' && /%\s*$/.test(condition)
  const rate = isRateMetric(metric)
  return (v) => {
    if (v === null) return '?'
    if (relative) return formatPercent(v)
    if (change && rate) return `${Math.round(v * 10_000) / 100}pp`
    return formatObserved(metric, v)
  }
}

/**
 * The line printed while a run goes on when the decision section acts: each gate once (not once per
 * guard), a trip, a clear, a dry-run guard's "would have". Undefined for everything else.
 */
export function liveDecisionLine(decision: Decision, previous: Decision | undefined): string | undefined {
  if (decision.source !== 'gate' && decision.source !== 'window' && decision.source !== 'leak') return undefined
  const gate = decision.source === 'gate'
  const sameGate =
    previous !== undefined &&
    previous.at === decision.at &&
    previous.step === decision.step &&
    previous.action === decision.action
  if (gate && !decision.dryRun)
    return sameGate
      ? undefined
      : `>> step ${decision.step + 1} ${decision.action.toUpperCase()}: ${decision.reason ?? ''}`
  if (
    decision.action === 'rollback' ||
    (decision.reason !== undefined && /^(would have rolled back at|cleared)/.test(decision.reason))
  ) {
    return (
      `>> step ${decision.step + 1} ${decision.dryRun ? 'DRY-RUN' : decision.action.toUpperCase()}: ` +
      `${decision.guard} "${decision.condition}" - ${decision.reason ?? decision.verdict}`
    )
  }
  return undefined
}
