import { emptyErrorCounts, type ObservedStep, type RequestStats, type RunSummary } from '@gauntlet/contracts'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderHtmlReport } from '../../apps/controller/src/report/html-report.js'
import { renderJunitReport } from '../../apps/controller/src/report/junit-report.js'
import { renderMarkdownReport } from '../../apps/controller/src/report/markdown-report.js'
import { loadReportAssets } from '../../apps/controller/src/report/report-assets.js'
import { buildRunReport } from '../../apps/controller/src/report/run-report.js'
import { stepTable } from '../../apps/controller/src/report/text-report.js'
import { RequestTable } from '../../packages/dashboard/src/components/request-table.js'

// Per-request statistics of a weighted mix reach every report people read (issue 15), and a scenario of
// one request (no `requests` on its steps) reads exactly as before.

const request = (sent: number, errorRate: number, p50Ms: number | null, p99Ms: number | null): RequestStats => ({
  sent,
  completed: sent,
  errors: Math.round(sent * errorRate),
  errorRate,
  errorsByClass: emptyErrorCounts(),
  p50Ms,
  p90Ms: p99Ms,
  p99Ms,
  maxMs: p99Ms,
})

function step(index: number, plannedRps: number, requests?: Record<string, RequestStats>): ObservedStep {
  return {
    index,
    plannedRps,
    achievedRps: plannedRps,
    durationS: 60,
    warmupS: 0,
    planned: plannedRps * 60,
    sent: plannedRps * 60,
    completed: plannedRps * 60,
    errors: 9,
    errorRate: 9 / (plannedRps * 60),
    errorsByClass: emptyErrorCounts(),
    p50Ms: 7.5,
    p90Ms: 60,
    p99Ms: 150,
    maxMs: 400,
    generatorLimited: false,
    verdict: 'pass',
    thresholds: [
      {
        threshold: 'p99{request=create-order} < 1s',
        metric: 'p99',
        observed: 180.4,
        limit: 1000,
        pass: true,
        evidence: { n: 1800, lower: 170, upper: 195, confidence: 'pass' },
      },
    ],
    ...(requests ? { requests } : {}),
  }
}

// A 30/70 mix over two steps: create-order is slow and sometimes fails, list-orders is fast and clean.
const mix: RunSummary = {
  runId: 'run-mix',
  status: 'passed',
  scenario: 'orders',
  target: 'http://127.0.0.1:9/',
  verdict: 'pass',
  capacityRps: 200,
  reasons: [],
  warnings: [],
  startedAt: '2026-01-05T10:00:00.000Z',
  finishedAt: '2026-01-05T10:02:00.000Z',
  steps: [
    step(0, 100, { 'create-order': request(1800, 0.005, 42, 180.4), 'list-orders': request(4200, 0, 3.25, 12.5) }),
    step(1, 200, { 'create-order': request(3600, 0.0125, 55.5, 240), 'list-orders': request(8400, 0.001, 4, 20) }),
  ],
}

const withoutRequests = (step: ObservedStep): ObservedStep => {
  const copy = { ...step }
  delete copy.requests
  return copy
}
const single: RunSummary = { ...mix, runId: 'run-single', steps: mix.steps.map(withoutRequests) }

const report = (summary: RunSummary) => buildRunReport({ runId: summary.runId, summary, windows: [], targetSeries: {} })

/** The cells of a text table line, split on the runs of spaces between columns. */
const cells = (line: string): string[] => line.trim().split(/\s{2,}/)

describe('the text report (gauntlet run)', () => {
  it("follows each step's line with its requests: name, sent, error rate, p50, p99", () => {
    const lines = stepTable(mix.steps).split('\n')
    const at = (i: number): string[] => cells(lines[i]!)
    expect(lines).toHaveLength(1 + 2 * 4)
    expect(at(1).slice(0, 2)).toEqual(['1', '100'])
    expect(at(2)).toEqual(['request', 'sent', 'err%', 'p50', 'p99'])
    expect(at(3)).toEqual(['create-order', '1800', '0.5%', '42ms', '180ms'])
    expect(at(4)).toEqual(['list-orders', '4200', '0%', '3.3ms', '12.5ms'])
    expect(at(5).slice(0, 2)).toEqual(['2', '200'])
    expect(at(6)).toEqual(['request', 'sent', 'err%', 'p50', 'p99'])
    expect(at(7)).toEqual(['create-order', '3600', '1.25%', '55.5ms', '240ms'])
    expect(at(8)).toEqual(['list-orders', '8400', '0.1%', '4ms', '20ms'])
    // Indented under its step, so the step rows still line up as one table.
    for (const i of [2, 3, 4, 6, 7, 8]) expect(lines[i]).toMatch(/^ {6}\S/)
    // The columns of a request table line up: each number ends where its heading ends.
    expect(lines[3]!.length).toBe(lines[2]!.length)
    expect(lines[4]!.length).toBe(lines[2]!.length)
  })

  it('prints no request table for a scenario of one request: the step lines alone, as before', () => {
    const text = stepTable(single.steps)
    expect(text).not.toContain('request')
    expect(text.split('\n')).toEqual(
      stepTable(mix.steps)
        .split('\n')
        .filter((l) => !l.startsWith(' '.repeat(6))),
    )
  })
})

describe('the Markdown report', () => {
  it('has a Requests table under the steps with a row per step and request', () => {
    const markdown = renderMarkdownReport(report(mix))
    expect(markdown).toContain('### Requests')
    expect(markdown.indexOf('### Requests')).toBeGreaterThan(markdown.indexOf('## Steps'))
    expect(markdown).toContain('| Step | Request | Sent | Error rate | p50 | p99 |')
    for (const row of [
      '| 1 | create-order | 1800 | 0.5% | 42ms | 180ms |',
      '| 1 | list-orders | 4200 | 0% | 3.3ms | 12.5ms |',
      '| 2 | create-order | 3600 | 1.25% | 55.5ms | 240ms |',
      '| 2 | list-orders | 8400 | 0.1% | 4ms | 20ms |',
    ])
      expect(markdown).toContain(row)
  })

  it('has no Requests table without a mix, and is otherwise the same report', () => {
    const markdown = renderMarkdownReport(report(single))
    expect(markdown).not.toContain('Requests')
    expect(markdown).not.toContain('create-order |')
    const withMix = renderMarkdownReport(report(mix))
    const requestsBlock = /\n\n### Requests\n\n[^#]*?(?=\n\n|\n$)/.exec(withMix)![0]
    expect(withMix.replace(requestsBlock, '').replaceAll('run-mix', 'run-single')).toBe(markdown)
  })
})

describe('the HTML report', () => {
  const assets = loadReportAssets()

  it('has a Requests section: one captioned table per step, names as row headers', () => {
    const html = renderHtmlReport(report(mix), assets)
    expect(html).toContain('<h2>Requests</h2>')
    expect(html.indexOf('<h2>Requests</h2>')).toBeGreaterThan(html.indexOf('<h2>Steps</h2>'))
    expect(html).toContain('<caption>Step 1 (100 rps)</caption>')
    expect(html).toContain('<caption>Step 2 (200 rps)</caption>')
    expect(html).toContain(
      '<th scope="col">request</th><th scope="col">sent</th><th scope="col">err%</th><th scope="col">p50</th><th scope="col">p99</th>',
    )
    for (const row of [
      '<th scope="row"><code>create-order</code></th><td>1800</td><td>0.5%</td><td>42ms</td><td>180ms</td>',
      '<th scope="row"><code>list-orders</code></th><td>4200</td><td>0%</td><td>3.3ms</td><td>12.5ms</td>',
      '<th scope="row"><code>create-order</code></th><td>3600</td><td>1.25%</td><td>55.5ms</td><td>240ms</td>',
      '<th scope="row"><code>list-orders</code></th><td>8400</td><td>0.1%</td><td>4ms</td><td>20ms</td>',
    ])
      expect(html).toContain(row)
    // The selector of a per-request threshold is shown as given.
    expect(html).toContain('<code>p99{request=create-order} &#60; 1s</code>')
  })

  it('escapes request names', () => {
    const hostile = '<img src=x onerror="alert(1)">'
    const summary = { ...mix, steps: [step(0, 100, { [hostile]: request(10, 0, 1, 2) })] }
    const html = renderHtmlReport(report(summary), assets)
    expect(html).not.toContain('<img')
    expect(html).toContain('<code>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</code>')
  })

  it('has no Requests section without a mix', () => {
    const html = renderHtmlReport(report(single), assets)
    expect(html).not.toContain('<h2>Requests</h2>')
    expect(html).not.toContain('scope="row"')
    // The step table is unchanged by the mix.
    const steps = (h: string): string => /<h2>Steps<\/h2>[\s\S]*?<\/section>/.exec(h)![0]
    expect(steps(renderHtmlReport(report(mix), assets))).toBe(steps(html))
  })
})

describe('the JUnit report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-junit-requests-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('names a per-request threshold testcase by its step and its text', () => {
    const xml = renderJunitReport(report(mix), { strict: false })
    expect(xml).toContain('<testcase name="step 1 (100 rps): p99{request=create-order} &lt; 1s"')
    expect(xml).toContain('<testcase name="step 2 (200 rps): p99{request=create-order} &lt; 1s"')
    if (spawnSync('xmllint', ['--version']).status !== 0) return
    const file = join(dir, 'requests.xml')
    writeFileSync(file, xml)
    const schema = join(import.meta.dirname, '../fixtures/junit/JUnit.xsd')
    const result = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' })
    expect(`${result.stdout}${result.stderr}`).toContain('validates')
  })
})

/** The text a Preact vnode tree shows, cell by cell: each <td>/<th> as one string. */
function tableCells(node: unknown): string[][] {
  const rows: string[][] = []
  const text = (n: unknown): string => {
    if (n === null || n === undefined || typeof n === 'boolean') return ''
    if (typeof n === 'string' || typeof n === 'number') return String(n)
    if (Array.isArray(n)) return n.map(text).join('')
    return text((n as { props: { children?: unknown } }).props.children)
  }
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk)
    if (n === null || typeof n !== 'object') return
    const { type, props } = n as { type: unknown; props: { children?: unknown } }
    if (type === 'tr') {
      const children: unknown[] = [props.children].flat(Infinity)
      rows.push(children.filter((c) => c !== null && typeof c === 'object').map((c) => text(c).trim()))
      return
    }
    walk(props.children)
  }
  walk(node)
  return rows
}

describe('the dashboard run page', () => {
  it("shows a step's requests as a table: request, sent, error rate, p50, p99", () => {
    const rows = tableCells(RequestTable({ step: mix.steps[0]! }))
    expect(rows).toEqual([
      ['Request', 'Sent', 'Error rate', 'p50', 'p99'],
      ['create-order', '1800', '0.5%', '42.0 ms', '180 ms'],
      ['list-orders', '4200', '0%', '3.3 ms', '12.5 ms'],
    ])
  })

  it('shows nothing for a step without a mix', () => {
    expect(RequestTable({ step: single.steps[0]! })).toBeNull()
  })
})
