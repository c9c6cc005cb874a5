// The HTML report's charts (the shared GauntletCharts module), drawn once and then fed the whole
// ChartData so far: handle.update() redraws without rebuilding the plots.
import type { ChartData } from '@gauntlet/contracts'
import { html } from 'htm/preact'
import { useEffect, useRef } from 'preact/hooks'

/**
 * The part of the chart module (packages/charts, a classic script: the global GauntletCharts) this page
 * uses. Said here rather than by a reference to its declaration file, which the test build and the
 * dependency rules (workspace entries only) do not take.
 */
interface RunChartsHandle {
  update(data: ChartData): void
  destroy(): void
}
const charts = (): { drawRunCharts(container: HTMLElement, data: ChartData): RunChartsHandle } =>
  (globalThis as unknown as { GauntletCharts: ReturnType<typeof charts> }).GauntletCharts

/** The container keeps its handle as a property: the page's tests read what uPlot holds through it. */
export type ChartsContainer = HTMLDivElement & { gauntletCharts?: RunChartsHandle }

export function RunCharts({ data }: { data: ChartData }) {
  const container = useRef<ChartsContainer>(null)
  const handle = useRef<RunChartsHandle | undefined>(undefined)
  useEffect(() => {
    const el = container.current
    if (!el || data.seconds.t.length === 0) return
    if (handle.current) handle.current.update(data)
    else el.gauntletCharts = handle.current = charts().drawRunCharts(el, data)
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
