import { createHash } from 'node:crypto'
import type { ComparedMetric, RootCause, RunComparison, RunReport, ThresholdResult } from '@gauntlet/contracts'
import type { ReportAssets } from './report-assets.js'
import { formatMs, formatObserved, formatPercent } from './format-values.js'
import { decisionLines, requestGrid, stepGrid } from './text-report.js'

/**
 * One self-contained HTML file for a run: styles, uPlot, the chart module and the chart data inline,
 * and a Content-Security-Policy that lets only those scripts run and nothing load, so opening it
 * (from a mail, a CI artifact, a disk) fetches nothing. Pure: the assets are read by the caller.
 * Every string from the run (scenario, target, reasons, notes) is user text and escaped.
 */
export function renderHtmlReport(
  report: RunReport,
  assets: ReportAssets,
  options: { comparison?: RunComparison } = {},
): string {
  const scripts = [
    noScriptClose(assets.uplotJs),
    noScriptClose(assets.chartsJs),
    `(function () {
  var data = JSON.parse(document.getElementById('gauntlet-chart-data').textContent);
  window.gauntletCharts = GauntletCharts.drawRunCharts(document.getElementById('charts'), data);
})();`,
  ]
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`).join(' ')}`,
    "style-src 'unsafe-inline'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const run = report.run
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(`${run.verdict.toUpperCase()} ${run.scenario} - Gauntlet run ${run.id}`)}</title>
<style>${noStyleClose(assets.uplotCss)}</style>
<style>${pageCss}</style>
</head>
<body>
<main>
${header(report)}
${rootCauseSection(report.rootCause)}
<section><h2>Charts</h2>
<div id="charts"></div>
<noscript><p>The charts need JavaScript; every figure below is in the tables.</p></noscript>
</section>
${stepsSection(report)}
${requestsSection(report)}
${thresholdSection(report)}
${decisionsSection(report)}
${faultsSection(report)}
${hooksSection(report)}
${targetMetricsSection(report)}
${listSection('Warnings', report.warnings)}
${listSection('Reasons', report.reasons)}
${options.comparison ? comparisonSection(options.comparison) : ''}
</main>
<script type="application/json" id="gauntlet-chart-data">${jsonForScript(report.chart)}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`
}

/** Escapes text for HTML content and attribute values. */
export function esc(text: string | number | null | undefined): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** JSON a <script> element holds as data: no "</script>", "<!--" or line separator can end or bend it. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

// Library code inlined in a <script>/<style>: a literal end tag in it would end the element early.
const noScriptClose = (js: string): string => js.replace(/<\/(script)/gi, '<\\/$1')
const noStyleClose = (css: string): string => css.replace(/<\/(style)/gi, '<\\/$1')

const rate = (rps: number | null): string => (rps === null ? '-' : Number.isInteger(rps) ? String(rps) : rps.toFixed(1))

function header(report: RunReport): string {
  const run = report.run
  const capacity = run.capacityRps === null ? 'no step passed' : `${rate(run.capacityRps)} rps`
  const faults = report.faults.map(
    (f) =>
      `<li><code>${esc(f.id)}</code>: ${esc(f.type)} via <strong>${esc(f.mechanism)}</strong>` +
      `${f.injector ? ` (${esc(f.injector)} injector${f.agent ? ` on ${esc(f.agent)}` : ''})` : ''}` +
      `${f.error ? ` <span class="bad">${esc(f.error)}</span>` : ''}</li>`,
  )
  const rows: Array<[string, string]> = [
    ['Target', `<code>${esc(run.target)}</code>`],
    ['Verdict', `<span class="verdict verdict-${esc(run.verdict)}">${esc(run.verdict.toUpperCase())}</span>`],
    ['Status', esc(run.status) + (run.degraded ? ' <span class="bad">(degraded: an agent was lost)</span>' : '')],
    ['Capacity', esc(capacity)],
    ['Duration', `${esc(run.durationS)} s (${esc(run.startedAt)} to ${esc(run.finishedAt)})`],
    ['Agents', esc(run.agents.join(', '))],
    ['Faults', faults.length > 0 ? `<ul>${faults.join('')}</ul>` : 'none'],
  ]
  const rollback = report.rollback
    ? `<p class="alert">Rolled back at step ${report.rollback.step + 1}` +
      `${report.rollback.guard ? ` by guard <code>${esc(report.rollback.guard)}</code>` : ''}: ` +
      `${esc(report.rollback.reason)} (${esc(report.rollback.at)})</p>`
    : ''
  const link = report.reportUrl ? `<p><a href="${esc(report.reportUrl)}">This report online</a></p>` : ''
  return `<header>
<h1>${esc(run.scenario)}</h1>
<p class="sub">Gauntlet run <code>${esc(run.id)}</code></p>
<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
${rollback}${link}
</header>`
}

/**
 * A table; cells are HTML already escaped by the caller. With `rowHeaders`, each row's first cell is
 * its header (`<th scope="row">`).
 */
function table(
  headings: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  caption?: string,
  options: { rowHeaders?: boolean } = {},
): string {
  const head = headings.map((h) => `<th scope="col">${esc(h)}</th>`).join('')
  const cell = (c: string, i: number): string =>
    options.rowHeaders && i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`
  const body = rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n')
  return `<div class="scroll"><table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead>
<tbody>${body}</tbody></table></div>`
}

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>\n${body}\n</section>`
}

function stepsSection(report: RunReport): string {
  // The text report's step columns and values, as the CLI prints them.
  const { headings, rows: grid } = stepGrid(report.steps)
  const rows = grid.map((cells, i) => {
    const step = report.steps[i]!
    const row = cells.map((c) => esc(c))
    row[row.length - 1] = `<span class="verdict verdict-${esc(step.verdict)}">${row[row.length - 1]}</span>`
    return [...row, esc(step.reason ?? '')]
  })
  return section('Steps', table([...headings, 'reason'], rows))
}

/** A step of a request mix: one table of its requests (the text report's columns); nothing without a mix. */
function requestsSection(report: RunReport): string {
  const tables = report.steps.flatMap((step) => {
    const grid = requestGrid(step)
    if (!grid) return []
    const rows = grid.rows.map(([name = '', ...values]) => [`<code>${esc(name)}</code>`, ...values.map((v) => esc(v))])
    return [table(grid.headings, rows, `Step ${step.index + 1} (${rate(step.plannedRps)} rps)`, { rowHeaders: true })]
  })
  return tables.length === 0 ? '' : section('Requests', tables.join('\n'))
}

function thresholdSection(report: RunReport): string {
  const rows = report.steps.flatMap((step) =>
    step.thresholds.map((t) => [String(step.index + 1), `<code>${esc(t.threshold)}</code>`, ...thresholdCells(t)]),
  )
  if (rows.length === 0) return section('Thresholds', '<p>No thresholds.</p>')
  return section(
    'Thresholds',
    table(['step', 'threshold', 'observed', 'result', 'n', '95% bounds', 'confidence'], rows),
  )
}

function thresholdCells(t: ThresholdResult): string[] {
  const value = (v: number | null): string => esc(formatObserved(t.metric, v))
  // A side the sample cannot bound reads "?", as in the text report's evidence.
  const bound = (v: number | null): string => (v === null ? '?' : value(v))
  const e = t.evidence
  return [
    value(t.observed),
    t.pass ? '<span class="good">pass</span>' : '<span class="bad">FAIL</span>',
    e ? esc(e.n) : '-',
    e ? `${bound(e.lower)} to ${bound(e.upper)}` : '-',
    e ? `<span class="confidence-${esc(e.confidence)}">${esc(e.confidence)}</span>` : '-',
  ]
}

function decisionsSection(report: RunReport): string {
  const lines = decisionLines(report.decisions).map((l) => l.replace(/^decision: /, ''))
  const quiet =
    report.quietDecisions > 0 ? `<p>${report.quietDecisions} more window verdict(s) changed nothing.</p>` : ''
  if (lines.length === 0) return section('Decisions', `<p>No decision changed the run.</p>${quiet}`)
  return section('Decisions', `<ul class="lines">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>${quiet}`)
}

function faultsSection(report: RunReport): string {
  if (report.faults.length === 0) return ''
  const time = (iso: string | null): string => esc(iso ?? '-')
  const rows = report.faults.map((f) => [
    `<code>${esc(f.id)}</code>`,
    esc(f.type),
    esc(f.mechanism),
    esc(`${f.injector ?? '-'}${f.agent ? ` on ${f.agent}` : ''}`),
    esc(f.targets.join(', ') || '-'),
    `${time(f.appliedAt)}<br><small>planned ${time(f.plannedApplyAt)}</small>`,
    `${time(f.revertedAt)}<br><small>planned ${time(f.plannedRevertAt)}</small>`,
    f.error
      ? `<span class="bad">${esc(f.error)}</span>`
      : f.revertVerified
        ? 'read back clean'
        : '<span class="bad">not clean</span>',
    esc(f.notes.join('; ')),
  ])
  return section(
    'Faults',
    table(['fault', 'type', 'mechanism', 'injector', 'targets', 'applied', 'reverted', 'outcome', 'notes'], rows),
  )
}

function hooksSection(report: RunReport): string {
  if (report.hooks.length === 0) return ''
  const rows = report.hooks.map((h) => [
    esc(h.event),
    `<code>${esc(h.url)}</code>`,
    h.step === undefined ? '-' : esc(h.step + 1),
    h.delivered ? '<span class="good">delivered</span>' : '<span class="bad">NOT delivered</span>',
    `<ol>${h.attempts
      .map((a) => `<li>${esc(a.at)}: ${esc(a.status ?? a.error ?? '-')} in ${esc(formatMs(a.ms))}</li>`)
      .join('')}</ol>`,
  ])
  return section('Hooks', table(['event', 'url', 'step', 'delivery', 'attempts'], rows))
}

function targetMetricsSection(report: RunReport): string {
  if (report.targetMetrics.length === 0) return ''
  const num = (v: number | null): string => (v === null ? '-' : esc(+v.toPrecision(4)))
  const growth = (v: number | null): string => (v === null ? '-' : esc(formatPercent(v)))
  const rows = report.targetMetrics.map((m) => [
    `<code>${esc(m.series)}</code>`,
    esc(m.scrapes),
    num(m.preLoad),
    `${num(m.peak)}${m.peakAtS === null ? '' : ` at ${esc(m.peakAtS)} s`}`,
    num(m.end),
    growth(m.peakGrowth),
    growth(m.endGrowth),
    m.growingSinceS === null ? '-' : `${esc(m.growingSinceS)} s`,
  ])
  return section(
    'Target metrics',
    table(['series', 'scrapes', 'before load', 'peak', 'end', 'peak growth', 'end growth', 'growing since'], rows),
  )
}

function listSection(title: string, items: readonly string[]): string {
  if (items.length === 0) return ''
  return section(title, `<ul class="lines">${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`)
}

function rootCauseSection(rootCause: RootCause | null): string {
  if (!rootCause) return ''
  const timeline = table(
    ['run second', 'time', 'what', ''],
    rootCause.timeline.map((e) => [esc(e.atS), esc(e.at), esc(e.kind), esc(e.text)]),
  )
  const impact = rootCause.impact
  const bounded = (b: { estimate: number | null; lower: number | null; upper: number | null }, unit: string): string =>
    b.estimate === null
      ? 'no data'
      : esc(
          `${+b.estimate.toFixed(2)}${unit} (95% ${b.lower === null ? '?' : +b.lower.toFixed(2)} to ` +
            `${b.upper === null ? '?' : +b.upper.toFixed(2)})`,
        )
  const impactHtml = impact
    ? `<p>Baseline: seconds ${esc(impact.baseline.fromS)}-${esc(impact.baseline.toS)} (${esc(impact.baseline.source)});
during: seconds ${esc(impact.during.fromS)}-${esc(impact.during.toS)}. Success rate drop:
<strong>${bounded(impact.successRateDropPp, 'pp')}</strong>.</p>
${table(
  ['quantile', 'baseline', 'during', 'change'],
  impact.latency.map((l) => [
    esc(l.quantile),
    esc(formatMs(l.baselineMs)),
    esc(formatMs(l.duringMs)),
    bounded(l.changeMs, 'ms'),
  ]),
  'Latency shift',
)}
${table(
  ['class', 'before', 'during', 'after'],
  impact.errorClasses.map((c) => [
    esc(c.class),
    esc(formatPercent(c.before)),
    esc(formatPercent(c.during)),
    c.after === null ? '-' : esc(formatPercent(c.after)),
  ]),
  'Error classes (share of completed requests)',
)}`
    : '<p>No impact measured.</p>'
  const suspects =
    rootCause.suspects.length === 0
      ? '<p>No cause found.</p>'
      : `<ol class="suspects">${rootCause.suspects
          .map(
            (s) =>
              `<li><strong>${esc(s.subject)}</strong> (${esc(s.kind)}): ${esc(s.reason)}` +
              `<br><small>ranked by: ${esc(s.rankedBy)}</small>` +
              `<ul>${s.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul></li>`,
          )
          .join('')}</ol>`
  return `<section class="root-cause"><h2>Root cause</h2>
<p class="headline">${esc(rootCause.headline)}</p>
<h3>Timeline</h3>${timeline}
<h3>Impact</h3>${impactHtml}
<h3>Suspects</h3>${suspects}
</section>`
}

function comparisonSection(c: RunComparison): string {
  const runLine = (label: string, r: RunComparison['run']): string =>
    `<li>${label}: <code>${esc(r.id)}</code> ${esc(r.scenario)}, ${esc(r.startedAt)}, ` +
    `<span class="verdict verdict-${esc(r.verdict)}">${esc(r.verdict.toUpperCase())}</span>, capacity ${esc(rate(r.capacityRps))} rps</li>`
  const rows = c.steps.flatMap((s) =>
    s.metrics.map((m) => [esc(s.index + 1), esc(rate(s.plannedRps)), ...comparedCells(m)]),
  )
  return section(
    'Comparison with the baseline run',
    `<ul>${runLine('baseline', c.baseline)}${runLine('this run', c.run)}</ul>
<p>${c.regressed ? '<span class="bad">REGRESSED</span>: a step got worse beyond its 95% bounds.' : 'No step regressed beyond its 95% bounds.'}</p>
${table(['step', 'planned rps', 'metric', 'baseline', 'this run', 'change', '95% bounds', 'verdict'], rows)}
${c.notes.length > 0 ? `<ul class="lines">${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}`,
  )
}

function comparedCells(m: ComparedMetric): string[] {
  const value = (v: number | null): string =>
    v === null
      ? '-'
      : m.metric === 'error_rate'
        ? formatPercent(v)
        : m.metric === 'rps'
          ? `${rate(v)} rps`
          : formatMs(v)
  const change = (v: number | null): string => (v === null ? '?' : `${v > 0 ? '+' : ''}${value(v)}`)
  const verdictClass = m.verdict === 'regressed' ? 'bad' : m.verdict === 'improved' ? 'good' : ''
  return [
    esc(m.metric),
    esc(value(m.baseline)),
    esc(value(m.run)),
    esc(change(m.change.estimate)),
    esc(`${change(m.change.lower)} to ${change(m.change.upper)}`),
    `<span class="${verdictClass}">${esc(m.verdict)}</span>`,
  ]
}

const pageCss = `
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fff; --muted: #666; --line: #ddd; --good: #1e7a34;
  --bad: #b3261e; --warn: #9a5b00; --alert: #fdecea; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #16181c; --muted: #a0a0a0; --line: #3a3d44; --good: #6cd48a; --bad: #ff8a80;
    --warn: #ffc266; --alert: #3b1f1f; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { margin: 0; font-size: 1.5rem; overflow-wrap: anywhere; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; margin-top: 2rem; }
.sub { color: var(--muted); margin: 0.2rem 0 1rem; }
code { overflow-wrap: anywhere; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
.facts dt { font-weight: 600; } .facts dd { margin: 0; } .facts ul { margin: 0; padding-left: 1.2rem; }
.verdict { font-weight: 700; padding: 0 0.4rem; border-radius: 3px; border: 2px solid currentColor; }
.verdict-pass { color: var(--good); } .verdict-fail, .verdict-aborted, .verdict-error { color: var(--bad); }
.verdict-generator-limited { color: var(--warn); }
.good { color: var(--good); } .bad { color: var(--bad); font-weight: 600; }
.confidence-fail { color: var(--bad); } .confidence-insufficient { color: var(--warn); }
.alert { background: var(--alert); border-left: 4px solid var(--bad); padding: 0.5rem 0.8rem; }
.headline { font-size: 1.1rem; font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 0.5rem 0; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
td ol, td ul { margin: 0; padding-left: 1.1rem; }
.lines li { margin: 0.2rem 0; overflow-wrap: anywhere; }
@media (max-width: 600px) { body { font-size: 14px; } main { padding: 0.5rem; } th, td { padding: 0.25rem; } }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #444; --line: #999; --good: #000; --bad: #000; --warn: #000; --alert: #fff; }
  main { max-width: none; padding: 0; } h2 { break-after: avoid; } tr, .suspects li { break-inside: avoid; }
  .scroll { overflow: visible; } a[href]::after { content: " (" attr(href) ")"; }
}
`
