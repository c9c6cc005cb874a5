import type { RootCause, RunReport } from '@gauntlet/contracts'
import { beforeAll, describe, expect, it } from 'vitest'
import { compareRuns } from '../../apps/controller/src/report/run-comparison.js'
import { renderMarkdownComparison } from '../../apps/controller/src/report/markdown-comparison.js'
import { renderMarkdownReport } from '../../apps/controller/src/report/markdown-report.js'
import { md } from '../../apps/controller/src/report/markdown-text.js'
import { scriptedRun, type ScriptedRun } from '../fixtures/junit/scripted-runs.js'

/** GFM table blocks: runs of lines starting with "|", each row split on its unescaped pipes. */
function tables(markdown: string): string[][][] {
  const blocks: string[][][] = []
  let current: string[][] | undefined
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined
      continue
    }
    if (!current) blocks.push((current = []))
    expect(line.endsWith(' |'), line).toBe(true)
    current.push(cells(line.slice(1, -1)))
  }
  return blocks
}

/** A row's cells as GFM splits them: a backslash escapes the next character (a pipe included), any other pipe divides. */
function cells(row: string): string[] {
  const out: string[] = []
  let cell = ''
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '\\') cell += row[i]! + (row[++i] ?? '')
    else if (row[i] === '|') [out[out.length], cell] = [cell, '']
    else cell += row[i]
  }
  return [...out, cell].map((c) => c.trim())
}

function expectWellFormedTables(markdown: string): void {
  const found = tables(markdown)
  expect(found.length).toBeGreaterThan(0)
  for (const rows of found) {
    const width = rows[0]!.length
    for (const row of rows) expect(row, row.join(' | ')).toHaveLength(width)
    expect(
      rows[1]!.every((c) => /^:?-{3}:?$|^-{2}:$/.test(c)),
      rows[1]!.join('|'),
    ).toBe(true)
  }
}

/** Markup that is not escaped: raw HTML, links or images, code spans. */
const unescaped = (markdown: string, char: string): number =>
  [...markdown.matchAll(new RegExp(`(?<!\\\\)\\${char}`, 'g'))].length

const failingYaml = `name: checkout
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
decision:
  guards:
    - { name: errors, kind: abort, require: "error_rate < 5%", minSamples: 200 }
`

const rootCause: RootCause = {
  headline: 'f1-delay (delay via netem) explains the timeouts: 900ms added to a 1s timeout',
  timeline: [
    { atS: 12, at: '2026-12-01T02:10:12.000Z', kind: 'fault-start', text: 'f1-delay applied (netem)' },
    { atS: 14, at: '2026-12-01T02:10:14.000Z', kind: 'trip', text: 'guard errors tripped' },
  ],
  impact: {
    baseline: { fromS: 2, toS: 12, source: 'prefault: 10 judged second(s) before the first fault' },
    during: { fromS: 12, toS: 20 },
    successRateDropPp: { estimate: 14.2, lower: 12.1, upper: 16.4 },
    latency: [{ quantile: 'p99', baselineMs: 20, duringMs: 950, changeMs: { estimate: 930, lower: 910, upper: 955 } }],
    errorClasses: [{ class: 'timeout', before: 0, during: 0.142, after: 0.001 }],
  },
  suspects: [
    {
      rank: 1,
      kind: 'fault',
      subject: 'f1-delay',
      reason: 'its delay plus the base latency exceeds the request timeout',
      evidence: ['timeouts 0% before, 14.2% during', 'delay 900ms + p50 20ms > timeout 1s'],
      rankedBy: 'explains 97% of the errors',
    },
  ],
}

describe('the Markdown report', () => {
  let run: ScriptedRun
  beforeAll(async () => {
    run = await scriptedRun(failingYaml, (_i, step) => (step === 1 ? { ok: 340, errors: 60 } : { ok: 200 }))
  })

  it('says the verdict in words, the facts, the steps, the failed checks with evidence and the decisions', () => {
    const text = renderMarkdownReport(run.report, { htmlReportUrl: 'https://ci.example/runs/1/report.html' })
    const lines = text.split('\n')
    expect(lines[0]).toBe('# Gauntlet: checkout')
    expect(lines[2]).toBe('❌ **Verdict: FAIL**: no step passed')
    expect(text).toContain('[Open the HTML report](https://ci.example/runs/1/report.html)')
    expect(text).toContain(`| Run | ${run.report.run.id} |`)
    expect(text).toContain('| Target | http://127.0.0.1:9/ |')
    expect(text).toContain('| 1 | 200 | 200 | 5ms | 5ms | 5ms | 0% | PASS |')
    expect(text).toMatch(/\| 2 \| 400 \| 400 \| 5ms \| 5ms \| 5ms \| 15% \| \*\*FAIL\*\* \|/)
    const checks = text.slice(text.indexOf('## Checks that failed'))
    expect(checks).toMatch(
      /\| 2 \| step 2 \(400 rps\): error\\_rate \\< 5% \| \*\*FAIL\*\* \| step 2 \(400 rps\): error\\_rate 15% does not meet "error\\_rate \\< 5%" \(limit 5%\); 95% [\d.]+% to [\d.]+%, n=\d+, confidence fail \|/,
    )
    expect(checks).toMatch(
      /\| step 2 \(400 rps\): guard errors \(error\\_rate \\< 5%\) \| \*\*FAIL\*\* \| step 2 ROLLBACK: errors/,
    )
    expect(text).toMatch(/## Decisions\n\n- step 2 ROLLBACK: errors "error\\_rate \\< 5%" FAIL at 15%/)
    // A threshold that passed did not stop the run: not listed among the decisions that acted.
    expect(text).not.toContain('STOP: p90')
    expect(text).toMatch(/\n\*\*Rolled back\*\* at step 2: guard errors: a span failed \(at \d+s\)\n/)
    expectWellFormedTables(text)
    expect(unescaped(text, '<')).toBe(0)
  })

  it('the report URL of the run wins over the option; a run without either has no link', () => {
    const withUrl = { ...run.report, reportUrl: 'https://gauntlet.example/api/runs/x/report' }
    expect(renderMarkdownReport(withUrl, { htmlReportUrl: 'https://other.example/' })).toContain(
      '(https://gauntlet.example/api/runs/x/report)',
    )
    expect(renderMarkdownReport(run.report)).not.toContain('HTML report')
  })

  it('shows the root cause: headline, ranked suspects with evidence, impact with bounds, timeline', () => {
    const text = renderMarkdownReport({ ...run.report, rootCause })
    const section = text.slice(text.indexOf('## Root cause'))
    expect(section).toContain('**f1-delay (delay via netem) explains the timeouts: 900ms added to a 1s timeout**')
    expect(section).toContain(
      '| 1 | fault | f1-delay | its delay plus the base latency exceeds the request timeout | timeouts 0% before, 14.2% during; delay 900ms + p50 20ms \\> timeout 1s | explains 97% of the errors |',
    )
    expect(section).toContain('Success rate drop: 14.2 pp (95% 12.1 to 16.4 pp)')
    expect(section).toContain('| p99 | 20ms | 950ms | +930ms | +910ms to +955ms |')
    expect(section).toContain('| timeout | 0% | 14.2% | 0.1% |')
    expect(section).toContain('| 12 | 2026-12-01T02:10:12.000Z | fault-start | f1-delay applied (netem) |')
    expectWellFormedTables(section)
    const none = renderMarkdownReport({ ...run.report, rootCause: { ...rootCause, suspects: [], impact: null } })
    expect(none).toContain('No cause found')
  })

  it('adds the comparison with a baseline as a section', async () => {
    const baseline = await scriptedRun(failingYaml, () => ({ ok: 200 }))
    const comparison = compareRuns(baseline, run)
    const text = renderMarkdownReport(run.report, { comparison })
    expect(text).toContain(
      `## Comparison: checkout, run ${run.report.run.id} against baseline ${baseline.report.run.id}`,
    )
    expect(text).toContain('**REGRESSED**: step 2 error rate beyond its 95% bounds')
    expectWellFormedTables(text)
  })
})

describe('hostile text', () => {
  const hostile =
    'evil | cell `code` <script>alert(1)</script> [click](javascript:alert(1)) ![img](x) *em* _u_ ~~s~~ $x$ &amp; \\| \n# heading\r\n- item'

  it('md() keeps it literal on one line: no markup, no HTML, no link', () => {
    const out = md(hostile)
    expect(out).not.toMatch(/[\n\r]/)
    for (const c of ['<', '>', '[', ']', '`', '|', '*', '_', '~', '$', '&']) expect(unescaped(out, c), c).toBe(0)
    expect(md('# title')).toBe('\\# title')
    expect(md('- item')).toBe('\\- item')
    expect(md('12. item')).toBe('12\\. item')
    expect(md('a\u0000b\u001bc')).toBe('a b c')
  })

  it('cannot break a table, add HTML or a link anywhere in the report', async () => {
    const { report } = await scriptedRun(failingYaml, (_i, step) =>
      step === 1 ? { ok: 340, errors: 60 } : { ok: 200 },
    )
    const evil: RunReport = {
      ...report,
      run: { ...report.run, scenario: hostile, target: hostile, id: hostile, agents: [hostile] },
      reasons: [hostile],
      warnings: [hostile],
      faults: [
        {
          id: hostile,
          type: hostile,
          mechanism: hostile,
          targets: [hostile],
          plannedApplyAt: report.run.startedAt,
          appliedAt: null,
          plannedRevertAt: report.run.startedAt,
          revertedAt: null,
          revertVerified: false,
          notes: [],
          error: hostile,
        },
      ],
      decisions: report.decisions.map((d) => ({ ...d, guard: hostile, condition: hostile, reason: hostile })),
      steps: report.steps.map((s) => ({ ...s, thresholds: s.thresholds.map((t) => ({ ...t, threshold: hostile })) })),
      rollback: { step: 1, guard: hostile, reason: hostile, at: report.run.finishedAt },
      rootCause: {
        ...rootCause,
        headline: hostile,
        timeline: [{ ...rootCause.timeline[0]!, text: hostile, at: hostile }],
        suspects: [
          { ...rootCause.suspects[0]!, subject: hostile, reason: hostile, evidence: [hostile], rankedBy: hostile },
        ],
      },
      reportUrl: 'https://ci.example/a b)(<x>[y]`z`|w',
    }
    const baseline = await scriptedRun(failingYaml, () => ({ ok: 200 }))
    const comparison = compareRuns(baseline, { report: evil, windows: [] })
    const text = renderMarkdownReport(evil, { comparison })
    expectWellFormedTables(text)
    // Wherever the hostile text went (alone, or inside a reason or decision line), it is there escaped.
    const escaped = md(hostile)
    expect(text.split(escaped).length).toBeGreaterThan(15)
    const rest = text.split(escaped).join('')
    expect(rest).not.toMatch(/alert|script|heading|javascript|cell/)
    for (const c of ['<', '>', '`', '~', '$', '_']) expect(unescaped(text, c), c).toBe(0)
    // The only link is the HTML report's, its URL percent-encoded.
    expect(text.match(/(?<!\\)\[/g)).toHaveLength(1)
    expect(text).toContain('[Open the HTML report](https://ci.example/a%20b%29%28%3Cx%3E%5By%5D%60z%60%7Cw)')
    // The hostile line break never starts a heading or a list item of its own.
    expect(text).not.toMatch(/^# heading/m)
    expect(text).not.toMatch(/^- item/m)
    expect(text.split('\n').filter((l) => l.startsWith('# '))).toHaveLength(1)
  })

  it('a link to anything but http(s) is text, never a link', async () => {
    const { report } = await scriptedRun(failingYaml, () => ({ ok: 200 }))
    const text = renderMarkdownReport({ ...report, reportUrl: 'javascript:alert(1)' })
    expect(text).toContain('Open the HTML report: javascript:alert(1)')
    expect(text).not.toMatch(/(?<!\\)\[/)
  })
})

describe('the comparison in Markdown', () => {
  it('one row per step x metric, every row as wide as the header; hostile ids escaped', async () => {
    const baseline = await scriptedRun(failingYaml, () => ({ ok: 200 }))
    const run = await scriptedRun(failingYaml, (_i, step) => (step === 1 ? { ok: 340, errors: 60 } : { ok: 200 }))
    const c = compareRuns(baseline, run)
    c.baseline.id = 'base | `x` <y>'
    const text = renderMarkdownComparison(c)
    expect(text.split('\n')[0]).toBe(
      `# Comparison: checkout, run ${run.report.run.id} against baseline base \\| \\\`x\\\` \\<y\\>`,
    )
    const [runs, metrics] = tables(text)
    expect(runs![0]).toEqual(['', 'Baseline', 'Run'])
    expect(metrics![0]).toEqual([
      'Step',
      'Planned rps',
      'Metric',
      'Baseline',
      'Run',
      'Change',
      '95% bounds of the change',
      'Verdict',
    ])
    expect(metrics!.slice(2)).toHaveLength(10)
    expect(metrics!.slice(2).find((r) => r[0] === '2' && r[2] === 'error rate')).toEqual([
      '2',
      '400',
      'error rate',
      '0%',
      '15%',
      '+15 pp',
      expect.stringMatching(/^\+1[0-3]\.\d+ pp to \+1[6-9]\.\d+ pp$/) as unknown as string,
      '**REGRESSED**',
    ])
    expectWellFormedTables(text)
  })
})
