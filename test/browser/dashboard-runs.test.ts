// The dashboard's Runs and Run pages in headless Chromium against a real controller and the demo
// target: a run watched live (second counter, charts, step gate hold, decision log), an abort with its
// confirm step, paging and filters, a report download, and an event stream cut mid-run that catches
// up to the same windows as an unbroken view. Every wait is on a DOM state or the API, never a sleep.
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { chromiumAvailable, launchChromium, type Chromium } from '../helpers/chromium.js'

// Debian's chromium, never a downloaded browser. Skipped only outside CI when it is not installed.
const available = chromiumAvailable('the dashboard tests')
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname

interface ApiWindow {
  index: number
  latencyMs: { p50Ms: number | null; p90Ms: number | null; p99Ms: number | null }
}

/**
 * A TCP proxy in front of the controller that can cut the event streams passing through it (only
 * those: cutting other requests would be a different test).
 */
async function startCuttableProxy(port: number) {
  const streams = new Set<Socket>()
  let eventStreams = 0
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    client.on('data', (chunk: Buffer) => {
      if (/^GET \/api\/runs\/[^/]+\/events /.test(chunk.toString('latin1'))) {
        eventStreams++
        streams.add(client)
      }
    })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => streams.delete(client))
    client.pipe(upstream).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** How many event streams were opened through it. */
    get eventStreams() {
      return eventStreams
    },
    cutEventStreams: () => {
      const cut = streams.size
      for (const socket of streams) socket.destroy()
      return cut
    },
    close: () => server.close(),
  }
}

describe.skipIf(!available)('dashboard: the Runs and Run pages in headless Chromium', () => {
  let browser: Chromium | undefined
  let context: BrowserContext
  let target: ChildServer
  let controller: ControllerUnderTest
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>
  /** Console errors and page errors of every page, by page name; the cut stream's own are kept apart. */
  const problems: string[] = []

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true })
    target = await startDemoTarget('--latency', '2')
    controller = await startController()
    proxy = await startCuttableProxy(Number(new URL(controller.url).port))
    browser = await launchChromium({ acceptDownloads: true })
    context = browser.context
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    proxy?.close()
    await controller?.stop()
    await target?.stop()
  })

  /** A new tab on the dashboard (through `base`), token entered in its prompt (sessionStorage is per tab). */
  async function openDashboard(name: string, hash: string, base = controller.url, allowCut = false): Promise<Page> {
    const page = await context.newPage()
    page.on('console', (m) => {
      if (m.type() !== 'error') return
      // The stream this test cuts fails in the browser's network log, as a cut connection should.
      if (allowCut && /events/.test(m.location().url) && /Failed to load resource|net::/.test(m.text())) return
      problems.push(`${name} console: ${m.text()} (${m.location().url})`)
    })
    page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`))
    await page.goto(`${base}/${hash}`)
    await page.fill('#token', controller.token!)
    await page.click('.token-prompt button[type=submit]')
    await page.waitForSelector('.token-prompt', { state: 'detached' })
    return page
  }

  async function startRun(name: string, load: string, extra = ''): Promise<string> {
    const yaml = `name: ${name}\ntarget: { url: "${target.url}/orders" }\nload: ${load}\n${extra}`
    const response = await controller.api('/api/runs', { body: { yaml } })
    expect(response.status, await response.clone().text()).toBe(201)
    return ((await response.json()) as { id: string }).id
  }

  async function apiWindows(id: string): Promise<ApiWindow[]> {
    const response = await controller.api(`/api/runs/${id}/windows?limit=3600`)
    expect(response.status).toBe(200)
    return (await response.json()) as ApiWindow[]
  }

  /** What the page's latency chart holds now: its x values and p50/p90/p99 series (uPlot's own data). */
  function chartData(page: Page): Promise<{ x: number[]; p50: unknown[]; p90: unknown[]; p99: unknown[] } | null> {
    return page.evaluate(`(() => {
      const handle = document.querySelector('.run-charts')?.gauntletCharts
      if (!handle || handle.charts.length === 0) return null
      const [x, p50, p90, p99] = handle.charts[0].data
      // The chart module draws second i at its middle, i + 0.5.
      return { x: [...x].map((v) => v - 0.5), p50: [...p50], p90: [...p90], p99: [...p99] }
    })()`)
  }

  const second = async (page: Page): Promise<number> => Number(await page.textContent('.run-second'))

  it('watches a held run live: the second counter and charts advance, the gate holds, the log fills; then the reports download', async () => {
    // Too few samples for the guard ever to pass: the gate holds at the step's end, then rolls back at maxHold.
    const id = await startRun(
      'held',
      '{ steps: [ { rps: 5, duration: 4s } ] }',
      'decision:\n  guards:\n    - { name: p99, kind: slo, require: "p99 < 1s", minSamples: 100, maxWindow: 2s }\n' +
        '  step: { maxHold: 4s }\n',
    )
    const page = await openDashboard('held', `#/runs/${id}`)
    await page.waitForFunction(() => Number(document.querySelector('.run-second')?.textContent) >= 2)
    const early = { second: await second(page), points: (await chartData(page))?.x.length ?? 0 }
    expect(early.points).toBeGreaterThan(0)
    // The counter and the charts move on without a reload.
    await page.waitForFunction((s) => Number(document.querySelector('.run-second')?.textContent) > s, early.second)
    await expect.poll(async () => (await chartData(page))?.x.length ?? 0).toBeGreaterThan(early.points)
    // Time left in the 4 s step while it goes, then how long the gate's hold has kept it past its plan.
    expect(await page.textContent('.current-step')).toMatch(/\d+ ?s left|held .* past plan/)
    await page.waitForSelector('.gate-state .action.hold')
    await page.waitForSelector('.decision-log tr.decision.hold')
    await page.waitForSelector('.current-step:has-text("past plan")')
    await page.screenshot({ path: join(artifacts, 'dashboard-run-live.png'), fullPage: true })
    await page.waitForSelector('.run-status .verdict.failed', { timeout: 30_000 })
    expect(await page.textContent('.final')).toContain('maxHold')
    await page.waitForSelector('.decision-log tr.decision.rollback')
    await page.screenshot({ path: join(artifacts, 'dashboard-run-finished.png'), fullPage: true })

    // The charts hold every stored window once, and the stored percentiles.
    const stored = await apiWindows(id)
    const drawn = (await chartData(page))!
    expect(drawn.x).toEqual(stored.map((w) => w.index))
    expect(drawn.p99).toEqual(stored.map((w) => w.latencyMs.p99Ms))

    // A report is fetched with the token and saved from a blob: URL (the page's CSP allows it).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-format=md]')])
    expect(download.suggestedFilename()).toBe(`gauntlet-run-${id}.md`)
    const file = await download.path()
    expect(readFileSync(file, 'utf8')).toContain('held')
    await page.close()
  }, 60_000)

  it('aborts a run from its page after a confirm step', async () => {
    const id = await startRun('long', '{ steps: [ { rps: 3, duration: 60s } ] }')
    const page = await openDashboard('abort', `#/runs/${id}`)
    await page.waitForFunction(() => Number(document.querySelector('.run-second')?.textContent) >= 1)
    await page.click('button.abort')
    await page.waitForSelector('dialog.confirm[open]')
    await page.screenshot({ path: join(artifacts, 'dashboard-abort-confirm.png') })
    // "Keep running" closes the dialog and aborts nothing.
    await page.click('dialog.confirm button[type=button]')
    await page.waitForSelector('dialog.confirm:not([open])', { state: 'attached' })
    expect(((await (await controller.api(`/api/runs/${id}`)).json()) as { status: string }).status).toBe('running')
    await page.click('button.abort')
    await page.click('dialog.confirm button[type=submit]')
    await page.waitForSelector('.run-status .verdict.aborted', { timeout: 30_000 })
    expect(((await (await controller.api(`/api/runs/${id}`)).json()) as { status: string }).status).toBe('aborted')
    await page.close()
  }, 60_000)

  it('a stream cut mid-run reconnects and ends with the same windows as an unbroken view and the store', async () => {
    const id = await startRun('cut', '{ steps: [ { rps: 5, duration: 3s }, { rps: 8, duration: 3s } ] }')
    // One tab through the cuttable proxy, one straight to the controller.
    const cut = await openDashboard('cut', `#/runs/${id}`, proxy.url, true)
    const unbroken = await openDashboard('unbroken', `#/runs/${id}`)
    await cut.waitForFunction(() => Number(document.querySelector('.run-second')?.textContent) >= 2)
    const cutAt = Number(await cut.textContent('.run-second'))
    const before = proxy.eventStreams
    expect(proxy.cutEventStreams()).toBe(1)
    // It reconnects by itself (Last-Event-ID) while the run goes on.
    await expect.poll(() => proxy.eventStreams, { timeout: 10_000 }).toBeGreaterThan(before)
    for (const page of [cut, unbroken]) await page.waitForSelector('.final-verdict', { timeout: 30_000 })
    // Its verdict is the run's own (a loaded machine may make a step generator-limited): both views say it.
    const { status } = (await (await controller.api(`/api/runs/${id}`)).json()) as { status: string }
    expect(status).not.toBe('running')
    for (const page of [cut, unbroken]) expect(await page.textContent('.run-status')).toContain(status)
    const stored = await apiWindows(id)
    // Windows came after the cut (a loaded machine may end the run early, generator-limited, so not all 6).
    expect(stored.map((w) => w.index)).toEqual([...Array(stored.length).keys()])
    expect(stored.length).toBeGreaterThan(cutAt + 1)
    const expected = {
      x: stored.map((w) => w.index),
      p50: stored.map((w) => w.latencyMs.p50Ms),
      p90: stored.map((w) => w.latencyMs.p90Ms),
      p99: stored.map((w) => w.latencyMs.p99Ms),
    }
    expect(await chartData(cut)).toEqual(expected)
    expect(await chartData(unbroken)).toEqual(expected)
    await cut.screenshot({ path: join(artifacts, 'dashboard-run-after-cut.png'), fullPage: true })
    await cut.close()
    await unbroken.close()
  }, 60_000)

  it('lists runs newest first, pages with "Older runs", filters by status and shows the empty state', async () => {
    const listed = (await (await controller.api('/api/runs?limit=100')).json()) as Array<{ id: string }>
    expect(listed.length).toBeGreaterThanOrEqual(3)
    const page = await openDashboard('runs', '#/runs?limit=2')
    const rowIds = (): Promise<string[]> =>
      page.$$eval('.runs-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-run') ?? ''))
    await page.waitForSelector('.runs-table tbody tr')
    expect(await rowIds()).toEqual(listed.slice(0, 2).map((r) => r.id))
    // Each row says its outcome in words, and its p99 sparkline says its values.
    expect(await page.textContent('.runs-table tbody tr .verdict')).toMatch(/passed|failed|aborted|error/)
    expect(await page.getAttribute('.runs-table tbody tr svg.sparkline', 'aria-label')).toMatch(/^p99 by step: \d/)
    await page.screenshot({ path: join(artifacts, 'dashboard-runs.png'), fullPage: true })
    while (await page.$('button.older-runs')) {
      const shown = (await rowIds()).length
      await page.click('button.older-runs')
      await page.waitForFunction((n) => document.querySelectorAll('.runs-table tbody tr').length > n, shown)
    }
    expect(await rowIds()).toEqual(listed.map((r) => r.id))

    await page.selectOption('#f-status', 'aborted')
    await page.click('.run-filters button[type=submit]')
    await page.waitForFunction(() => location.hash.includes('status=aborted'))
    await page.waitForFunction(() => document.querySelectorAll('.runs-table tbody tr').length === 1)
    expect(await page.textContent('.runs-table tbody tr .verdict')).toContain('aborted')

    await page.fill('#f-scenario', 'no-such-scenario')
    await page.click('.run-filters button[type=submit]')
    await page.waitForSelector('.empty')
    expect(await page.textContent('.empty')).toContain('No run matches')
    await page.close()
    expect(problems).toEqual([])
  }, 60_000)
})
