import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunReport } from '@gauntlet/contracts'
import { renderHtmlReport } from '../../apps/controller/src/report/html-report.js'
import { loadReportAssets } from '../../apps/controller/src/report/report-assets.js'
import { buildRunReport } from '../../apps/controller/src/report/run-report.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startDemoTarget } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { syntheticReport } from './synthetic-report.js'
import { chromiumAvailable, launchChromium, type Chromium } from '../helpers/chromium.js'

// Debian's chromium, never a downloaded browser. Skipped only outside CI when it is not installed.
const available = chromiumAvailable('the HTML report tests')
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname

/** Share of a one-pixel column of the plot area with ink: inside the first fault, a generator-limited second, a plain second. */
interface Columns {
  fault: number | null
  limited: number | null
  plain: number
}

interface PageFacts {
  charts: Array<{ key: string; points: number; series: number; inked: boolean; x: [number, number]; columns: Columns }>
  bands: number
  log: { before: number; after: number }
  /** Every chart's x range after zooming the second chart to seconds 1-3. */
  zoomed: Array<[number, number]>
  synced: number
  /** After update() with the first half of the seconds while zoomed in, then unzoomed with all of them: data length and x range. */
  updated: Array<{ points: number; x: [number, number] }>
}

/** Opens the report file and reports what the page did: errors, requests, and what each chart drew. */
async function openReport(context: BrowserContext, html: string, name: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'gauntlet-html-')), `${name}.html`)
  writeFileSync(file, html)
  const page = await context.newPage()
  const problems: string[] = []
  const requests: string[] = []
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`))
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`))
  page.on('request', (r) => requests.push(r.url()))
  await page.goto(`file://${file}`)
  await page.waitForFunction('window.gauntletCharts && window.gauntletCharts.charts.length > 0')
  // In the page: each uPlot's data, whether its canvas has ink inside the plot area, the fault bands'
  // key entries, and what the log toggle does to the latency chart's y scale.
  // uPlot commits scale and data changes in a microtask: each step waits for the next frame to read them.
  const facts = await page.evaluate<PageFacts>(`(async () => {
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
    const handle = window.gauntletCharts
    const inked = (u) => {
      const { left, top, width, height } = u.bbox
      const pixels = u.ctx.getImageData(left, top, width, height).data
      let ink = 0
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++
      return ink > width * height * 0.01
    }
    const data = JSON.parse(document.getElementById('gauntlet-chart-data').textContent)
    const column = (u, second) => {
      const { top, height } = u.bbox
      const pixels = u.ctx.getImageData(Math.round(u.valToPos(second, 'x', true)), top, 1, height).data
      let ink = 0
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++
      return ink / height
    }
    const fault = data.faults.find((f) => f.startS !== null)
    const limited = data.seconds.t.find((t, i) => data.seconds.generatorLimited[i] === 1)
    const columns = (u) => ({
      fault: fault ? column(u, (fault.startS + (fault.endS ?? fault.startS + 1)) / 2) : null,
      limited: limited === undefined ? null : column(u, limited + 0.5),
      plain: column(u, data.seconds.t[0] + 1.5),
    })
    const charts = handle.charts.map((u) => ({
      key: u.root.parentElement.dataset.chart,
      points: u.data[0].length,
      series: u.data.length - 1,
      inked: inked(u),
      x: [u.scales.x.min, u.scales.x.max],
      columns: columns(u),
    }))
    const bands = document.querySelectorAll('.gc-key li').length
    const before = handle.charts[0].scales.y.distr
    const box = document.querySelector('input.gc-log')
    box.click()
    await frame()
    const after = window.gauntletCharts.charts[0].scales.y.distr
    handle.charts[1].setScale('x', { min: 1, max: 3 })
    await frame()
    const zoomed = handle.charts.map((u) => [u.scales.x.min, u.scales.x.max])
    const synced = uPlot.sync('gauntlet-run').plots.length
    const half = Math.ceil(data.seconds.t.length / 2)
    const seconds = Object.fromEntries(Object.entries(data.seconds).map(([k, v]) =>
      [k, Array.isArray(v) ? v.slice(0, half) : Object.fromEntries(Object.entries(v).map(([c, a]) => [c, a.slice(0, half)]))]))
    handle.update({ ...data, seconds })
    await frame()
    const state = () => ({ points: handle.charts[0].data[0].length, x: [handle.charts[0].scales.x.min, handle.charts[0].scales.x.max] })
    const first = state()
    handle.charts[0].setScale('x', { min: data.seconds.t[0], max: data.seconds.t[half - 1] + 1 })
    await frame()
    handle.update(data)
    await frame()
    const updated = [first, state()]
    return { charts, bands, log: { before, after }, zoomed, synced, updated }
  })()`)
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: join(artifacts, `${name}-phone.png`), fullPage: true })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.setViewportSize({ width: 1200, height: 900 })
  await page.screenshot({ path: join(artifacts, `${name}-dark.png`), fullPage: true })
  await page.emulateMedia({ media: 'print', colorScheme: 'dark' })
  await page.screenshot({ path: join(artifacts, `${name}-print.png`), fullPage: true })
  await page.close()
  rmSync(file)
  return { problems, requests, facts, file }
}

describe.skipIf(!available)('HTML report in headless Chromium', () => {
  let browser: Chromium | undefined
  let context: BrowserContext
  beforeAll(async () => {
    browser = await launchChromium()
    context = browser.context
  })
  afterAll(async () => {
    await browser?.close()
  })

  function expectClean(result: Awaited<ReturnType<typeof openReport>>, report: RunReport) {
    expect(result.problems).toEqual([])
    // The file itself is the only request: nothing from the network, nothing else from disk.
    expect(result.requests).toEqual([`file://${result.file}`])
    const expected = [
      'latency',
      'rate',
      'errors',
      'connections',
      ...report.chart.targetMetrics.map((_, i) => `metric-${i}`),
    ]
    expect(result.facts.charts.map((c) => c.key)).toEqual(expected)
    for (const chart of result.facts.charts) {
      expect(chart.points, chart.key).toBeGreaterThan(0)
      expect(chart.inked, `${chart.key} canvas has ink`).toBe(true)
    }
    // One time axis: every chart spans the run's seconds, shares the cursor, and follows a zoom.
    const seconds = report.chart.seconds.t
    for (const chart of result.facts.charts) expect(chart.x).toEqual([seconds[0], seconds.at(-1)! + 1])
    expect(result.facts.synced).toBe(expected.length)
    expect(result.facts.zoomed).toEqual(expected.map(() => [1, 3]))
    expect(result.facts.log).toEqual({ before: 1, after: 3 })
    // update() keeps a reader's zoom; a chart showing the whole run follows it as it grows.
    const half = Math.ceil(seconds.length / 2)
    expect(result.facts.updated).toEqual([
      { points: half, x: [1, 3] },
      { points: seconds.length, x: [seconds[0], seconds.at(-1)! + 1] },
    ])
  }

  it('draws a synthetic run with faults, every kind of decision mark and target metrics', async () => {
    const report = syntheticReport(300, { metrics: 2, text: '</script><img src=x onerror=alert(1)>' })
    const result = await openReport(context, renderHtmlReport(report, loadReportAssets()), 'html-report-synthetic')
    expectClean(result, report)
    // key: step, generator-limited, one fault, six decision kinds
    expect(result.facts.bands).toBe(1 + 1 + 1 + 6)
    // The fault band and the generator-limited shade cover their seconds top to bottom on every chart;
    // a plain second has only the series and the grid.
    for (const chart of result.facts.charts) {
      expect(chart.columns.fault, chart.key).toBeGreaterThan(0.95)
      expect(chart.columns.limited, chart.key).toBeGreaterThan(0.95)
      expect(chart.columns.plain, chart.key).toBeLessThan(0.5)
    }
  })

  it('draws the report of a real run stored in SQLite', async () => {
    const target = await startDemoTarget('--latency', '5')
    try {
      const dir = tempDir()
      const db = join(dir, 'runs.db')
      const file = writeScenario(
        dir,
        `name: html-report-real
target: { url: ${target.url}/orders, timeout: 2s }
load:
  steps: [{ rps: 20, duration: 2s }, { rps: 40, duration: 2s }]
  warmup: 1s
thresholds: [p99 < 500ms]
`,
      )
      const run = await runCli(['run', file, '--db', db])
      // A pass, or a fail on a busy machine (a generator-limited second): either way a stored run to report.
      expect([0, 1], run.stderr).toContain(run.code)
      const store = new SqliteStore(db)
      const [stored] = store.listRuns({ limit: 1 })
      const summary = stored!.summary!
      const report = buildRunReport({
        runId: stored!.id,
        summary,
        windows: store.windows(stored!.id),
        targetSeries: store.targetSeries(stored!.id),
      })
      store.close()
      expect(report.chart.seconds.t.length).toBeGreaterThanOrEqual(4)
      const result = await openReport(context, renderHtmlReport(report, loadReportAssets()), 'html-report-real')
      expectClean(result, report)
    } finally {
      await target.stop()
    }
  })
})
