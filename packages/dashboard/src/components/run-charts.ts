// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the chart module is a classic script whose types are a global namespace (no module to import); the reference lets test/tsconfig.json check this file too
/// <reference path="../../../charts/dist/charts.d.ts" />
// The HTML report's charts (the shared GauntletCharts module), drawn once and then fed the whole
// ChartData so far: handle.update() redraws without rebuilding the plots.
import type { ChartData } from '@gauntlet/contracts'
import { html } from 'htm/preact'
import { useEffect, useRef } from 'preact/hooks'

/** The container keeps its handle as a property: the page's tests read what uPlot holds through it. */
export type ChartsContainer = HTMLDivElement & { gauntletCharts?: GauntletCharts.RunChartsHandle }

export function RunCharts({ data }: { data: ChartData }) {
  const container = useRef<ChartsContainer>(null)
  const handle = useRef<GauntletCharts.RunChartsHandle | undefined>(undefined)
  useEffect(() => {
    const el = container.current
    if (!el || data.seconds.t.length === 0) return
    if (handle.current) handle.current.update(data)
    else el.gauntletCharts = handle.current = GauntletCharts.drawRunCharts(el, data)
    el.dataset.seconds = String(data.seconds.t.length)
  }, [data])
  useEffect(
    () => () => {
      handle.current?.destroy()
      handle.current = undefined
    },
    [],
  )
  return html`<section aria-labelledby="charts-title">
    <h2 id="charts-title">Charts</h2>
    ${data.seconds.t.length === 0 ? html`<p class="muted">No window yet: the first second is on its way.</p>` : null}
    <div class="run-charts" ref=${container}></div>
  </section>`
}
