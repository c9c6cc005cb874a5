import type { RunReport, WindowReport } from '@gauntlet/contracts'
import { executeRun, parseScenario, SqliteStore } from '@gauntlet/controller'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'test-results-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderJunitReport } from '../../apps/controller/src/report/junit-report.js'
import { renderMarkdownReport } from '../../apps/controller/src/report/markdown-report.js'
import { compareRuns } from '../../apps/controller/src/report/run-comparison.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { embeddedRunDeps, storedRunReport } from '../helpers/embedded-run.js'

const schema = join(import.meta.dirname, '../fixtures/junit/JUnit.xsd')
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0

/**
 * The reports of real runs: the demo target, the embedded agent and a real SQLite file; each report is
 * built from what the store kept (as `gauntlet report` does), then checked by the schema validator and
 * a JUnit consumer, and two runs are compared.
 */
describe('reports of real runs (demo target, embedded agent)', () => {
  let target: ChildServer
  const dir = tempDir('gauntlet-junit-int-')

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
  })
  afterAll(async () => {
    await target.stop()
  })

  /** A run of `yaml`; `knobs` are set on the target before it starts. What the store kept, as a report. */
  async function stored(yaml: string, knobs: object): Promise<{ report: RunReport; windows: WindowReport[] }> {
    const response = await fetch(`${target.url}/__knobs`, { method: 'PUT', body: JSON.stringify(knobs) })
    expect(response.status).toBe(200)
    const store = new SqliteStore(join(dir, 'g.db'))
    try {
      const summary = await executeRun(embeddedRunDeps(store), {
        scenario: parseScenario(yaml.replaceAll('TARGET', target.url)),
        yaml,
      })
      const windows = store.windows(summary.runId)
      const report = storedRunReport(store, summary.runId)
      return { report, windows }
    } finally {
      store.close()
    }
  }

  const yaml = `name: orders
target: { url: "TARGET/orders" }
load: { warmup: 1s, steps: [ { rps: 100, duration: 3s }, { rps: 200, duration: 3s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
`

  it('a failing run: JUnit valid against the schema and read back as it says; Markdown tables whole', async () => {
    const { report } = await stored(yaml, { latencyMs: 2, errorRate: 0.2 })
    expect(report.run.verdict).toBe('fail')
    const xml = renderJunitReport(report, { strict: false })
    const file = join(dir, 'run.xml')
    writeFileSync(file, xml)
    if (hasXmllint) {
      const lint = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' })
      expect(`${lint.stdout}${lint.stderr}`).toContain('validates')
      expect(lint.status).toBe(0)
    } else expect(process.env.CI, 'xmllint must be installed in CI').toBeFalsy()
    const result = parse({ type: 'junit', files: [file] })
    const cases = result.suites[0]!.cases
    const failing = cases.find((c) => c.name === 'step 1 (100 rps): error_rate < 5%')!
    expect(failing.status).toBe('FAIL')
    expect(failing.failure).toMatch(/^step 1 \(100 rps\): error_rate \d+(\.\d+)?% does not meet "error_rate < 5%"/)
    expect(failing.failure).toMatch(/95% [\d.]+% to [\d.]+%, n=\d+, confidence fail$/)
    expect(cases.find((c) => c.name === 'step 1 (100 rps): p90 < 800ms')!.status).toBe('PASS')
    expect(result.failed).toBe(Number(/ failures="(\d+)"/.exec(xml)![1]))

    const markdown = renderMarkdownReport(report)
    expect(markdown).toContain('❌ **Verdict: FAIL**')
    for (const block of markdown.split('\n\n').filter((b) => b.startsWith('|'))) {
      const widths = block.split('\n').map((row) => row.split(/(?<!\\)\|/).length)
      expect(new Set(widths).size, block).toBe(1)
    }
  })

  it('compares two runs: a target made 25 ms slower regressed beyond its bounds; the same target did not', async () => {
    const short = `name: orders
target: { url: "TARGET/orders" }
load: { warmup: 1s, steps: [ { rps: 200, duration: 3s } ] }
`
    const baseline = await stored(short, { latencyMs: 2, errorRate: 0 })
    const same = await stored(short, { latencyMs: 2, errorRate: 0 })
    const slower = await stored(short, { latencyMs: 27, errorRate: 0 })
    const unchanged = compareRuns(baseline, same)
    const p50 = (c: typeof unchanged, step: number) => c.steps[step]!.metrics.find((m) => m.metric === 'p50')!
    // A real machine's latency is not a fixed distribution: only the large change is asserted as one.
    expect(Math.abs(p50(unchanged, 0).change.estimate!)).toBeLessThan(5)
    const regressed = compareRuns(baseline, slower)
    expect(regressed.regressed).toBe(true)
    expect(p50(regressed, 0).verdict).toBe('regressed')
    expect(p50(regressed, 0).change.lower!).toBeGreaterThan(15)
    expect(regressed.steps[0]!.metrics.find((m) => m.metric === 'error_rate')!.verdict).toBe('within-noise')
  })
})
