import type { Bounded, Impact, RootCause } from '@gauntlet/contracts'
import { formatMs, formatPercent } from './format-values.js'
import { md, sections, table } from './markdown-text.js'

/** The root cause as a Markdown section: headline, ranked suspects with evidence, impact, timeline. */
export function renderMarkdownRootCause(rootCause: RootCause, level = 2): string {
  const h = '#'.repeat(level)
  return sections([
    `${h} Root cause`,
    `**${md(rootCause.headline)}**`,
    suspects(rootCause, h),
    rootCause.impact ? impact(rootCause.impact, h) : undefined,
    timeline(rootCause, h),
  ]).trimEnd()
}

function suspects(rootCause: RootCause, h: string): string {
  if (rootCause.suspects.length === 0) return 'No cause found: no fault, target metric or generator limit explains it.'
  const rows = [...rootCause.suspects]
    .sort((a, b) => a.rank - b.rank)
    .map((s) => [
      String(s.rank),
      s.kind,
      md(s.subject),
      md(s.reason),
      s.evidence.map(md).join('; ') || '-',
      md(s.rankedBy),
    ])
  return (
    `${h}# Suspects, most likely first\n\n` + table(['Rank', 'Kind', 'Suspect', 'Why', 'Evidence', 'Ranked by'], rows)
  )
}

function impact(impact: Impact, h: string): string {
  const latency = table(
    ['Quantile', 'Baseline', 'During', 'Change', '95% bounds'],
    impact.latency.map((l) => [
      l.quantile,
      formatMs(l.baselineMs),
      formatMs(l.duringMs),
      signedMs(l.changeMs.estimate),
      `${signedMs(l.changeMs.lower)} to ${signedMs(l.changeMs.upper)}`,
    ]),
  )
  const classes = table(
    ['Error class', 'Before', 'During', 'After'],
    impact.errorClasses.map((c) => [
      c.class,
      formatPercent(c.before),
      formatPercent(c.during),
      c.after === null ? '-' : formatPercent(c.after),
    ]),
  )
  return [
    `${h}# Impact`,
    `Success rate drop: ${pp(impact.successRateDropPp)} (baseline: run seconds ${impact.baseline.fromS} to ` +
      `${impact.baseline.toS}, ${md(impact.baseline.source)}; during: seconds ${impact.during.fromS} to ${impact.during.toS})`,
    impact.latency.length > 0 ? latency : undefined,
    impact.errorClasses.length > 0 ? classes : undefined,
  ]
    .filter((p) => p !== undefined)
    .join('\n\n')
}

function timeline(rootCause: RootCause, h: string): string | undefined {
  if (rootCause.timeline.length === 0) return undefined
  const rows = rootCause.timeline.map((t) => [String(t.atS), md(t.at), t.kind, md(t.text)])
  return `${h}# Timeline\n\n` + table(['Run second', 'Time', 'Event', 'What'], rows, ['right'])
}

/** "4.1 pp (95% 2.9 to 5.3 pp)": the drop is in percentage points already. */
function pp(b: Bounded): string {
  const v = (x: number | null): string => (x === null ? '?' : `${Math.round(x * 100) / 100}`)
  if (b.estimate === null) return 'not measured'
  return `${v(b.estimate)} pp (95% ${v(b.lower)} to ${v(b.upper)} pp)`
}

function signedMs(v: number | null): string {
  if (v === null) return '?'
  return `${v > 0 ? '+' : v < 0 ? '-' : ''}${formatMs(Math.abs(v))}`
}
