import type { Bounded, ComparedMetric, RunComparison } from '@gauntlet/contracts'
import { formatMs, formatPercent } from './format-values.js'
import { bullets, md, sections, table } from './markdown-text.js'

/**
 * Two runs side by side per step (`gauntlet report --compare`, or a section of a run's Markdown report):
 * the verdict of the comparison first, the runs, what made it partial, then one row per step x metric
 * with the change, its 95% bounds and whether it is beyond sampling error.
 */
export function renderMarkdownComparison(comparison: RunComparison, level = 1): string {
  const h = '#'.repeat(level)
  const { baseline, run } = comparison
  const verdict = comparison.regressed
    ? `**REGRESSED**: ${regressions(comparison)} beyond its 95% bounds`
    : '**No regression** beyond the 95% bounds of sampling error'
  const runs = table(
    ['', 'Baseline', 'Run'],
    [
      ['Run id', md(baseline.id), md(run.id)],
      ['Scenario', md(baseline.scenario), md(run.scenario)],
      ['Started', md(baseline.startedAt), md(run.startedAt)],
      ['Verdict', baseline.verdict.toUpperCase(), run.verdict.toUpperCase()],
      ['Capacity', capacity(baseline.capacityRps), capacity(run.capacityRps)],
    ],
  )
  const rows = comparison.steps.flatMap((step) =>
    step.metrics.map((m) => [
      String(step.index + 1),
      String(step.plannedRps),
      metricName[m.metric],
      value(m.metric, m.baseline),
      value(m.metric, m.run),
      change(m.metric, m.change.estimate),
      bounds(m.metric, m.change),
      verdictText[m.verdict],
    ]),
  )
  return sections([
    `${h} Comparison: ${md(run.scenario)}, run ${md(run.id)} against baseline ${md(baseline.id)}`,
    verdict,
    runs,
    comparison.notes.length > 0 ? `Notes:\n\n${bullets(comparison.notes.map(md))}` : undefined,
    rows.length > 0
      ? table(
          ['Step', 'Planned rps', 'Metric', 'Baseline', 'Run', 'Change', '95% bounds of the change', 'Verdict'],
          rows,
          ['right', 'right', 'left', 'right', 'right', 'right', 'left', 'left'],
        )
      : 'No step ran in both runs: nothing to compare.',
  ])
}

/** "step 2 p99, step 3 error rate". */
function regressions(comparison: RunComparison): string {
  return comparison.steps
    .flatMap((s) =>
      s.metrics.filter((m) => m.verdict === 'regressed').map((m) => `step ${s.index + 1} ${metricName[m.metric]}`),
    )
    .join(', ')
}

const metricName: Record<ComparedMetric['metric'], string> = {
  rps: 'achieved rps',
  p50: 'p50',
  p90: 'p90',
  p99: 'p99',
  error_rate: 'error rate',
}

const verdictText: Record<ComparedMetric['verdict'], string> = {
  regressed: '**REGRESSED**',
  improved: 'improved',
  'within-noise': 'within noise',
  insufficient: 'insufficient data',
}

const capacity = (rps: number | null): string => (rps === null ? 'no step passed' : `${rps} rps`)

function value(metric: ComparedMetric['metric'], v: number | null): string {
  if (v === null) return '-'
  if (metric === 'error_rate') return formatPercent(v)
  if (metric === 'rps') return `${round(v, 1)}`
  return formatMs(v)
}

/** A signed change: percentage points for the error rate, ms for latency, rps for the rate. */
function change(metric: ComparedMetric['metric'], v: number | null): string {
  if (v === null) return '-'
  const sign = v > 0 ? '+' : v < 0 ? '-' : ''
  const size = Math.abs(v)
  if (metric === 'error_rate') return `${sign}${round(size * 100, 2)} pp`
  if (metric === 'rps') return `${sign}${round(size, 1)} rps`
  return `${sign}${formatMs(size)}`
}

function bounds(metric: ComparedMetric['metric'], b: Bounded): string {
  return `${b.lower === null ? '?' : change(metric, b.lower)} to ${b.upper === null ? '?' : change(metric, b.upper)}`
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits
