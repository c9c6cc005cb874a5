import { GauntletError, type RunComparison, type RunReport } from '@gauntlet/contracts'
import { renderHtmlReport } from './html-report.js'
import { renderJunitReport } from './junit-report.js'
import { renderMarkdownReport } from './markdown-report.js'
import type { ReportAssets } from './report-assets.js'

export const reportFormats = ['html', 'md', 'junit', 'json'] as const
export type ReportFormat = (typeof reportFormats)[number]

export const contentTypes: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  junit: 'application/xml; charset=utf-8',
  json: 'application/json; charset=utf-8',
}

/** The controller's answer says whether a compared run regressed (the CLI's --fail-on-regression reads it). */
export const regressedHeader = 'gauntlet-regressed'

/** The media types of each format, in the order offered when a client's preferences tie. */
const offered: ReadonlyArray<readonly [string, ReportFormat]> = [
  ['text/html', 'html'],
  ['text/markdown', 'md'],
  ['application/json', 'json'],
  ['application/xml', 'junit'],
  ['text/xml', 'junit'],
]

/**
 * The format an Accept header asks for (RFC 9110 content negotiation): each offered type takes the
 * quality of the most specific range that matches it (`text/html` over `text/*` over `*\/*`), so
 * `text/html;q=0, *\/*` refuses HTML; the highest quality above 0 wins, ties in the order offered. No
 * header: HTML. undefined: nothing offered is acceptable (406).
 */
export function formatFromAccept(accept: string | undefined): ReportFormat | undefined {
  if (!accept || accept.trim() === '') return 'html'
  const ranges = new Map<string, number>()
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase())
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? '1')
    if (type && !ranges.has(type)) ranges.set(type, Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0)
  }
  const quality = (media: string): number =>
    ranges.get(media) ?? ranges.get(`${media.split('/')[0]}/*`) ?? ranges.get('*/*') ?? 0
  let best: { format: ReportFormat; q: number } | undefined
  for (const [media, format] of offered) {
    const q = quality(media)
    if (q > 0 && (!best || q > best.q)) best = { format, q }
  }
  return best?.format
}

/**
 * What an HTML report may do when the controller serves it: its own inline scripts and styles, nothing
 * fetched, no form, no frame (the report is self-contained; this keeps it so even if a bug let text through).
 */
export const htmlReportPolicy =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Where a controller started with --public-url serves a run's HTML report. */
export function reportLink(publicUrl: string, runId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(runId)}/report`
}

export interface RenderOptions {
  /** An insufficient result is a JUnit failure (as `--strict`), not skipped. */
  strict?: boolean
  comparison?: RunComparison
  /** The chart library and module, inlined in HTML reports. */
  assets?: () => ReportAssets
}

/** One report in one format: the only place that knows which renderer makes which format. */
export function renderReport(format: ReportFormat, report: RunReport, options: RenderOptions = {}): string {
  const comparison = options.comparison ? { comparison: options.comparison } : {}
  switch (format) {
    case 'html':
      if (!options.assets) throw new GauntletError('internal', 'an HTML report needs its chart assets')
      return renderHtmlReport(report, options.assets(), comparison)
    case 'md':
      return renderMarkdownReport(report, comparison)
    case 'junit':
      return renderJunitReport(report, { strict: options.strict === true })
    case 'json':
      return `${JSON.stringify(options.comparison ? { ...report, comparison: options.comparison } : report, null, 2)}\n`
  }
}

/** The format a file name asks for (`--report x.html`), or the one named by `--format`. */
export function parseReportFormat(text: string, flag: string): ReportFormat {
  const aliases: Record<string, ReportFormat> = { markdown: 'md', xml: 'junit', htm: 'html' }
  const format = aliases[text] ?? text
  if ((reportFormats as readonly string[]).includes(format)) return format as ReportFormat
  throw new GauntletError('usage', `${flag}: "${text}" is not a report format (${reportFormats.join(', ')})`)
}
