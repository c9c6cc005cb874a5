// drawRunCharts: every chart of a run under `container`, sharing one time axis, one cursor and one
// zoom (uPlot's cursor sync, and each x zoom copied to the others), following the container's width.
namespace GauntletCharts {
  type UPlot = import('uplot')

  export function drawRunCharts(
    container: HTMLElement,
    initial: ChartData,
    options: RunChartsOptions = {},
  ): RunChartsHandle {
    const doc = container.ownerDocument
    injectStyles(doc)
    container.classList.add('gc-charts')
    const syncKey = options.syncKey ?? 'gauntlet-run'
    let data = initial
    let log = options.logLatency === true
    let specs: ChartSpec[] = []
    let plots: UPlot[] = []
    let syncing = false

    const width = (): number => Math.max(240, Math.floor(container.clientWidth))
    const height = (): number => options.height ?? (width() < 600 ? 160 : 200)

    // A zoom on one chart (drag, or double-click to reset) becomes the zoom of all.
    const onScale = (source: UPlot): void => {
      if (syncing) return
      syncing = true
      const { min, max } = source.scales.x ?? {}
      if (min !== undefined && max !== undefined) {
        for (const p of plots) if (p !== source) p.setScale('x', { min, max })
      }
      syncing = false
    }

    const plot = (spec: ChartSpec, target: HTMLElement): UPlot => {
      const context = { width: width(), height: height(), syncKey, log, theme: readTheme(container), onScale }
      return new uPlot(plotOptions(spec, { ...context, getData: () => data }), alignedData(spec, log), target)
    }

    const build = (): void => {
      for (const p of plots) p.destroy()
      container.replaceChildren(overlayKey(doc, data))
      specs = chartSpecs(data)
      plots = specs.map((spec) => plot(spec, figure(doc, container, spec, log, setLogLatency)))
    }

    const isZoomed = (): boolean => {
      const t = data.seconds.t
      const x = plots[0]?.scales.x
      if (!x || t.length === 0) return false
      return x.min !== t[0] || x.max !== t[t.length - 1]! + 1
    }

    const resize = (): void => {
      for (const p of plots) p.setSize({ width: width(), height: height() })
    }

    function setLogLatency(next: boolean): void {
      log = next
      const i = specs.findIndex((s) => s.latency)
      const old = plots[i]
      if (i < 0 || !old) return
      const { min, max } = old.scales.x ?? {}
      const target = old.root.parentElement!
      old.destroy()
      plots[i] = plot(specs[i]!, target)
      if (min !== undefined && max !== undefined) plots[i].setScale('x', { min, max })
      const box = target.querySelector<HTMLInputElement>('input.gc-log')
      if (box) box.checked = log
    }

    build()
    const observer = new ResizeObserver(resize)
    observer.observe(container)
    const dark = window.matchMedia('(prefers-color-scheme: dark)')
    dark.addEventListener('change', build)
    // Printing redraws in the print theme (dark text on paper) at the paper's width, and back after:
    // the print media query changes once print styles apply, which beforeprint does not promise.
    const print = window.matchMedia('print')
    print.addEventListener('change', build)

    return {
      get charts() {
        return plots
      },
      update(next: ChartData): void {
        // A live run: charts follow the growing run unless the reader zoomed in, whose zoom stays.
        const following = !isZoomed()
        data = next
        const nextSpecs = chartSpecs(next)
        if (nextSpecs.map((s) => s.key).join() !== specs.map((s) => s.key).join()) return build()
        specs = nextSpecs
        specs.forEach((spec, i) => plots[i]!.setData(alignedData(spec, log), following))
      },
      setLogLatency,
      destroy(): void {
        observer.disconnect()
        dark.removeEventListener('change', build)
        print.removeEventListener('change', build)
        for (const p of plots) p.destroy()
        plots = []
        container.replaceChildren()
      },
    }
  }

  /** The figure a chart lives in: its title, and for latency the log-scale toggle. */
  function figure(
    doc: Document,
    container: HTMLElement,
    spec: ChartSpec,
    log: boolean,
    setLog: (log: boolean) => void,
  ): HTMLElement {
    const fig = doc.createElement('figure')
    fig.className = 'gc-chart'
    fig.dataset.chart = spec.key
    const caption = doc.createElement('figcaption')
    caption.textContent = spec.title
    if (spec.latency) {
      const toggle = doc.createElement('label')
      toggle.className = 'gc-toggle'
      const box = doc.createElement('input')
      box.type = 'checkbox'
      box.className = 'gc-log'
      box.checked = log
      box.addEventListener('change', () => setLog(box.checked))
      toggle.append(box, ' log scale')
      caption.appendChild(toggle)
    }
    fig.appendChild(caption)
    container.appendChild(fig)
    return fig
  }
}
