import { describe, expect, it } from 'vitest'
import { renderHtmlReport } from '../../apps/controller/src/report/html-report.js'
import { loadReportAssets } from '../../apps/controller/src/report/report-assets.js'
import { syntheticReport } from '../browser/synthetic-report.js'

const hostile = `</script><img src=x onerror="alert(1)"><!-- '&`

describe('renderHtmlReport', () => {
  it('keeps a 1-hour run (3600 windows, target metrics every 5 s) under 2 MB', () => {
    const html = renderHtmlReport(syntheticReport(3600, { metrics: 4 }), loadReportAssets())
    const bytes = Buffer.byteLength(html)
    expect(bytes).toBeGreaterThan(200_000) // the data is really in it
    expect(bytes).toBeLessThan(2_000_000)
  })

  it('escapes user text everywhere: no element, attribute or script end can be injected', () => {
    const report = syntheticReport(60, { text: hostile })
    const html = renderHtmlReport(report, loadReportAssets())
    expect(html).not.toContain('<img')
    expect(html).not.toContain('onerror="')
    // Exactly the report's own scripts: the data block, uPlot, the charts and the start-up code.
    expect(html.match(/<script/g)).toHaveLength(4)
    expect(html.match(/<\/script>/g)).toHaveLength(4)
    // The text is shown, escaped, where it was given.
    expect(html).toContain('checkout &#60;/script&#62;&#60;img src=x onerror=&#34;alert(1)&#34;&#62;')
    for (const where of ['success rate dropped', 'note', 'warning', 'step 3 failed: p99', 'timeout', 'advanced']) {
      expect(html).toContain(`${where} &#60;/script&#62;&#60;img`)
    }
    // The chart data survives the round trip through its <script type="application/json">.
    const json = /<script type="application\/json" id="gauntlet-chart-data">([^<]*)<\/script>/.exec(html)?.[1]
    expect(json).toBeDefined()
    expect((JSON.parse(json!) as typeof report.chart).faults[0]!.id).toBe(`latency-spike ${hostile}`)
  })

  it('lets only its own scripts run: a hash per inline script, nothing loaded from anywhere', () => {
    const html = renderHtmlReport(syntheticReport(10), loadReportAssets())
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp.match(/'sha256-[A-Za-z0-9+/=]+'/g)).toHaveLength(3)
    // script-src itself: its own hashes, and neither inline code nor any source beyond them.
    const scriptSrc =
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith('script-src ')) ?? ''
    expect(scriptSrc.split(/\s+/).slice(1)).toEqual(csp.match(/'sha256-[A-Za-z0-9+/=]+'/g))
    expect(html).not.toMatch(/\s(src|href)="https?:/)
  })

  it('renders the comparison section only when given one', () => {
    const report = syntheticReport(10)
    const assets = loadReportAssets()
    expect(renderHtmlReport(report, assets)).not.toContain('Comparison with the baseline run')
    const html = renderHtmlReport(report, assets, {
      comparison: {
        baseline: { id: 'base-1', scenario: 'checkout', startedAt: 'x', verdict: 'pass', capacityRps: 400 },
        run: { id: 'run-2', scenario: 'checkout', startedAt: 'y', verdict: 'fail', capacityRps: 200 },
        steps: [
          {
            index: 0,
            plannedRps: 100,
            metrics: [
              {
                metric: 'p99',
                baseline: 80,
                run: 120,
                change: { estimate: 40, lower: 31, upper: 49 },
                verdict: 'regressed',
              },
            ],
          },
        ],
        regressed: true,
        notes: [`different plans ${hostile}`],
      },
    })
    expect(html).toContain('Comparison with the baseline run')
    expect(html).toMatch(
      /<td>p99<\/td><td>80ms<\/td><td>120ms<\/td><td>\+40ms<\/td><td>\+31ms to \+49ms<\/td><td><span class="bad">regressed/,
    )
    expect(html).not.toContain('<img')
  })
})
