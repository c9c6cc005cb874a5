import type { Decision, RunComparison, RunReport } from '@gauntlet/contracts'
import { formatMs, formatPercent } from './format-values.js'
import { renderMarkdownComparison } from './markdown-comparison.js'
import { renderMarkdownRootCause } from './markdown-root-cause.js'
import { bullets, link, md, sections, table } from './markdown-text.js'
import { reportChecks } from './report-checks.js'
import { decisionLines, requestGrid } from './text-report.js'

export interface MarkdownOptions {
  /** Where the HTML report is, when the report itself does not say (report.reportUrl wins). */
  htmlReportUrl?: string
  /** A baseline run to set beside this one, as a section. */
  comparison?: RunComparison
}

/**
 * A run as GitHub-flavoured Markdown, for a CI job summary or an alert: the verdict in words, the run's
 * facts, the per-step table, the checks that failed or could not be vouched for (with their evidence),
 * the decisions that acted, warnings, the root cause, a link to the HTML report. No raw HTML; everything
 * users wrote is escaped (markdown-text.ts md()).
 */
export function renderMarkdownReport(report: RunReport, options: MarkdownOptions = {}): string {
  const url = report.reportUrl ?? options.htmlReportUrl
  return sections([
    `# Gauntlet: ${md(report.run.scenario)}`,
    verdictLine(report),
    url ? link('Open the HTML report', url) : undefined,
    facts(report),
    faults(report),
    list('## Why', report.reasons),
    steps(report),
    checks(report),
    decisions(report),
    report.rollback ? `**Rolled back** at step ${report.rollback.step + 1}: ${md(report.rollback.reason)}` : undefined,
    list('## Warnings', report.warnings),
    report.rootCause ? renderMarkdownRootCause(report.rootCause, 2) : undefined,
    options.comparison ? renderMarkdownComparison(options.comparison, 2).trimEnd() : undefined,
  ])
}

const verdictMark = { pass: '✅', fail: '❌', error: '⚠️' } as const

function verdictLine(report: RunReport): string {
  const { run } = report
  const capacity = run.capacityRps === null ? 'no step passed' : `capacity ${run.capacityRps} rps`
  const status = run.status === 'passed' || run.status === 'failed' ? '' : ` (run ${run.status})`
  return `${verdictMark[run.verdict]} **Verdict: ${run.verdict.toUpperCase()}**${status}: ${capacity}`
}

function facts(report: RunReport): string {
  const { run } = report
  const rows = [
    ['Scenario', md(run.scenario)],
    ['Target', md(run.target)],
    ['Run', md(run.id)],
    ['Status', run.status],
    ['Capacity', run.capacityRps === null ? 'no step passed' : `${run.capacityRps} rps`],
    ['Duration', clock(run.durationS)],
    ['Started', md(run.startedAt)],
    ['Agents', run.agents.map(md).join(', ') || '-'],
    ...(run.degraded ? [['Degraded', 'yes: an agent was lost, some seconds lack its share']] : []),
  ]
  return table(['Run', ''], rows)
}

/** Each fault: what it was, which mechanism carried it, when it was in place (run seconds), and how it ended. */
function faults(report: RunReport): string | undefined {
  if (report.faults.length === 0) return undefined
  const rows = report.faults.map((f) => {
    const span = report.chart.faults.find((s) => s.id === f.id)
    const at = (s: number | null | undefined): string => (s === null || s === undefined ? '-' : `${s} s`)
    const outcome = f.error
      ? `FAILED: ${md(f.error)}`
      : f.revertedAt
        ? f.revertVerified
          ? 'reverted, read back clean'
          : '**not clean** after its revert'
        : 'not reverted'
    return [
      md(f.id),
      md(f.type),
      md(f.mechanism) + (f.injector ? ` (${f.injector})` : ''),
      f.targets.map(md).join(', ') || '-',
      at(span?.startS),
      at(span?.endS),
      outcome,
    ]
  })
  return '## Faults\n\n' + table(['Fault', 'Type', 'Mechanism', 'Targets', 'Applied', 'Reverted', 'Outcome'], rows)
}

function steps(report: RunReport): string {
  if (report.steps.length === 0) return '## Steps\n\nNo step ran.'
  const rows = report.steps.map((s) => [
    String(s.index + 1),
    String(s.plannedRps),
    String(s.achievedRps),
    formatMs(s.p50Ms),
    formatMs(s.p90Ms),
    formatMs(s.p99Ms),
    formatPercent(s.errorRate),
    stepVerdict(s.verdict) + (s.generatorLimited && s.verdict !== 'generator-limited' ? ' (generator-limited)' : ''),
  ])
  const header = ['Step', 'Planned rps', 'Achieved rps', 'p50', 'p90', 'p99', 'Error rate', 'Verdict']
  const stepsTable = table(header, rows, ['right', 'right', 'right', 'right', 'right', 'right', 'right'])
  return sections(['## Steps', stepsTable, requests(report)]).trimEnd()
}

/** The requests of each step of a mix (sent, error rate, p50, p99), one table; undefined without a mix. */
function requests(report: RunReport): string | undefined {
  const rows = report.steps.flatMap((s) =>
    (requestGrid(s)?.rows ?? []).map(([name = '', sent = '', errorRate = '', p50 = '', p99 = '']) => [
      String(s.index + 1),
      md(name),
      sent,
      errorRate,
      p50,
      p99,
    ]),
  )
  if (rows.length === 0) return undefined
  const header = ['Step', 'Request', 'Sent', 'Error rate', 'p50', 'p99']
  return '### Requests\n\n' + table(header, rows, ['right', 'left', 'right', 'right', 'right', 'right'])
}

const stepVerdict = (v: string): string => (v === 'pass' ? 'PASS' : `**${v.toUpperCase()}**`)

/** Checks that failed, could not be vouched for at 95%, or had nothing sound to judge (report-checks.ts). */
function checks(report: RunReport): string | undefined {
  const shown = reportChecks(report).filter((c) => c.outcome !== 'pass' && c.outcome !== 'skipped')
  if (shown.length === 0) return undefined
  const rows = shown.map((c) => [
    c.step === null ? '-' : String(c.step + 1),
    md(c.name),
    c.outcome === 'insufficient' ? 'INSUFFICIENT' : `**${c.outcome.toUpperCase()}**`,
    md(c.message),
  ])
  return '## Checks that failed or are not proven\n\n' + table(['Step', 'Check', 'Result', 'Evidence'], rows)
}

/**
 * Decisions that acted: holds, rollbacks, stops, trips, clears and dry-run "would have"s. Advances and
 * spans that changed nothing are counted (every one is in the HTML report and the summary).
 */
function decisions(report: RunReport): string | undefined {
  const acted = report.decisions.filter(didSomething)
  const others = report.decisions.length - acted.length + report.quietDecisions
  if (acted.length === 0 && others === 0) return undefined
  const lines = acted.map((d) => md(decisionLines([d])[0]!.replace(/^decision: /, '')))
  const rest =
    others > 0 ? [`${others} ${acted.length > 0 ? 'other ' : ''}decision(s) advanced a step or changed nothing`] : []
  return '## Decisions\n\n' + bullets([...lines, ...rest])
}

function didSomething(d: Decision): boolean {
  // A threshold that passed in a step the run stopped at did not stop it: its failing neighbour did.
  if (d.source === 'threshold' && d.verdict === 'pass') return false
  if (d.action === 'hold' || d.action === 'rollback' || d.action === 'stop') return true
  return d.reason !== undefined && /^(would have (rolled back|held|stopped)|cleared)/.test(d.reason)
}

function list(heading: string, items: readonly string[]): string | undefined {
  return items.length === 0 ? undefined : `${heading}\n\n${bullets(items.map(md))}`
}

/** Seconds as 1h02m03s, 2m05s, 42s. */
function clock(totalS: number): string {
  const s = Math.round(totalS)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (n: number): string => String(n).padStart(2, '0')
  if (h > 0) return `${h}h${pad(m)}m${pad(s % 60)}s`
  if (m > 0) return `${m}m${pad(s % 60)}s`
  return `${s}s`
}
