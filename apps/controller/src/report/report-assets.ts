import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/** What an HTML report inlines so that opening it fetches nothing: uPlot and the run charts. */
export interface ReportAssets {
  uplotJs: string
  uplotCss: string
  /** The compiled @gauntlet/charts script (defines the global GauntletCharts). */
  chartsJs: string
}

let cached: ReportAssets | undefined

/**
 * Reads the assets once from the installed packages: resolved like an import, so it works from the
 * repository, from the built dist and inside the image (where both are production dependencies).
 * uPlot is resolved from the charts package, whose dependency it is.
 */
export function loadReportAssets(): ReportAssets {
  if (cached) return cached
  const fromController = createRequire(import.meta.url)
  const chartsPath = fromController.resolve('@gauntlet/charts/charts.js')
  const fromCharts = createRequire(fromController.resolve('@gauntlet/charts/package.json'))
  cached = {
    uplotJs: readFileSync(fromCharts.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(fromCharts.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    chartsJs: readFileSync(chartsPath, 'utf8'),
  }
  return cached
}
