import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { tempDir, writeScenario } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { chromiumAvailable, launchChromium, type Chromium } from '../helpers/chromium.js'

// Debian's chromium, never a downloaded browser. Skipped only outside CI when it is not installed.
const available = chromiumAvailable('the dashboard tests')
const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname

/** A console message or page error, with the URL of the resource it is about (a failed fetch says its own). */
interface Logged {
  text: string
  url: string
}

/** The Scenarios, Schedules, Agents and Faults pages against a real controller, in headless Chromium. */
describe.skipIf(!available)('dashboard pages in headless Chromium', () => {
  let browser: Chromium | undefined
  let context: BrowserContext
  let target: ChildServer
  let controller: ControllerUnderTest
  let page: Page
  const errors: Logged[] = []

  // Line 5 is the one the test breaks and mends.
  const scenario = (url: string): string =>
    ['name: pages', 'target:', `  url: "${url}/orders"`, 'load:', '  steps: [{ rps: 2, duration: 2s }]']
      .concat(['thresholds: [p99 < 500ms]', ''])
      .join('\n')

  beforeAll(async () => {
    target = await startDemoTarget()
    const dir = tempDir()
    writeScenario(dir, scenario(target.url), 'pages.yaml')
    controller = await startController({ args: ['--scenarios', dir] })
    mkdirSync(artifacts, { recursive: true })
    browser = await launchChromium()
    context = browser.context
    page = await context.newPage()
    page.on('console', (m) => m.type() === 'error' && errors.push({ text: m.text(), url: m.location().url }))
    page.on('pageerror', (e) => errors.push({ text: `page error: ${e.message}`, url: '' }))
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await controller?.stop()
    await target?.stop()
  })

  /** Takes the errors logged so far: each is a refused fetch the test expects, or a failure. */
  function takeErrors(expected: Array<{ status: number; path: string }> = []): Logged[] {
    const unexpected = errors.filter(
      (e) =>
        !expected.some(
          ({ status, path }) =>
            e.text.includes(`status of ${status}`) && new URL(e.url || 'http://x/').pathname === path,
        ),
    )
    errors.length = 0
    return unexpected
  }

  const shot = (name: string) => page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true })

  it('asks for the token before any call (the page says the controller needs one), then lists the scenario', async () => {
    await page.goto(`${controller.url}/#/scenarios`)
    await page.waitForSelector('#token')
    // No call was made without the token, so none was refused (nor logged in the console).
    expect(takeErrors()).toEqual([])
    await page.fill('#token', controller.token!)
    await page.click('button[type=submit]')
    await page.waitForSelector('table.scenario-list a[href="#/scenarios/pages"]')
    expect(await page.evaluate<string>('location.href')).not.toContain(controller.token!)
    await shot('scenarios')
    expect(takeErrors()).toEqual([])
  })

  it('shows a problem at its line as the YAML is typed, clears it when mended, saves', async () => {
    await page.click('a[href="#/scenarios/pages"]')
    await page.waitForSelector('.check-state[data-state=valid]')
    const good = await page.inputValue('#scenario-yaml')
    expect(good).toBe(scenario(target.url))

    await page.fill('#scenario-yaml', good.replace('  steps:', '  stepz:'))
    // Within the debounce the controller answers: line 5 marked in the gutter and listed as a link.
    await page.waitForSelector('.gutter-line.problem[data-line="5"]')
    const listed = await page.textContent('.yaml-problems li[data-line="5"]')
    expect(listed).toMatch(/line 5: .*stepz/)
    await page.click('.yaml-problems li[data-line="5"] button')
    // A string, evaluated in the page: the tests compile without the DOM library.
    const caret = await page.evaluate<{ focused: boolean; line: number }>(`(() => {
      const area = document.getElementById('scenario-yaml')
      return {
        focused: document.activeElement === area,
        line: area.value.slice(0, area.selectionStart).split('\\n').length,
      }
    })()`)
    expect(caret).toEqual({ focused: true, line: 5 })
    await shot('scenario-problem')

    const mended = good.replace('rps: 2, duration: 2s', 'rps: 2, duration: 2s ')
    await page.fill('#scenario-yaml', mended)
    await page.waitForSelector('.check-state[data-state=valid]')
    expect(await page.$$('.gutter-line.problem')).toHaveLength(0)

    await page.click('text=Save')
    await page.waitForSelector('text=/Saved at/')
    const stored = (await (await controller.api('/api/scenarios/pages')).json()) as { yaml: string }
    expect(stored.yaml).toBe(mended)
    // The 422s of the broken text are the validator's answers, logged by the browser as refused fetches.
    expect(takeErrors([{ status: 422, path: '/api/scenarios/validate' }])).toEqual([])
  })

  it('starts a run from the page with a target override and lands on its run page', async () => {
    await page.fill('#run-target', `${target.url}/orders`)
    await page.click('button:has-text("Start run")')
    await page.waitForURL(/#\/runs\/[^/]+$/)
    const id = decodeURIComponent((await page.evaluate<string>('location.hash')).replace('#/runs/', ''))
    const run = await controller.api(`/api/runs/${id}`)
    expect(run.status).toBe(200)
    expect(((await run.json()) as { scenario: string }).scenario).toContain('pages')
    expect(takeErrors()).toEqual([])
  })

  it('shows a schedule in both zones and pauses and resumes it', async () => {
    const created = await controller.api('/api/schedules', {
      body: { scenario: 'pages', cron: '0 3 * * 3', timezone: 'Asia/Kolkata' },
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    await page.goto(`${controller.url}/#/schedules`)
    const card = `section[data-schedule="${id}"]`
    await page.waitForSelector(`${card} [data-paused=false]`)
    // 03:00 in Kolkata, shown there and in the viewer's zone (the browser's: UTC here unless TZ says otherwise).
    expect(await page.textContent(`${card} table`)).toContain('03:00:00')
    await page.click(`${card} summary`)
    await page.waitForSelector(`${card} >> text=/not fired yet/`)

    const paused = async () =>
      ((await (await controller.api(`/api/schedules/${id}`)).json()) as { paused: boolean }).paused
    await page.click(`${card} button:has-text("Pause")`)
    await page.waitForSelector(`${card} [data-paused=true]`)
    expect(await paused()).toBe(true)
    await shot('schedules')
    await page.click(`${card} button:has-text("Resume")`)
    await page.waitForSelector(`${card} [data-paused=false]`)
    expect(await paused()).toBe(false)
    expect(takeErrors()).toEqual([])
  })

  it('renders the Agents page (none registered: an empty state) and the Faults page', async () => {
    await page.goto(`${controller.url}/#/agents`)
    await page.waitForSelector('text=/No agents have registered/')
    await shot('agents')
    await page.goto(`${controller.url}/#/faults`)
    await page.waitForSelector('text=/No active faults|not enabled on this controller/')
    await shot('faults')
    expect(takeErrors([{ status: 404, path: '/api/faults' }])).toEqual([])
  })
})
