// uPlot options and data for one chart spec: axes in run seconds, legend values with units, the
// overlay plugin, and the latency chart's log scale.
namespace GauntletCharts {
  type UPlot = import('uplot')

  export interface PlotContext {
    width: number
    height: number
    syncKey: string
    log: boolean
    theme: Theme
    getData: () => ChartData
    onScale: (u: UPlot) => void
  }

  export function plotOptions(spec: ChartSpec, c: PlotContext): import('uplot').Options {
    const log = spec.latency === true && c.log
    const axis = { stroke: c.theme.fg, grid: { stroke: c.theme.grid }, ticks: { stroke: c.theme.grid } }
    return {
      width: c.width,
      height: c.height,
      cursor: { sync: { key: c.syncKey, setSeries: false }, drag: { x: true, y: false } },
      scales: {
        x: { time: false, range: (u, min, max) => xRange(u, min, max, c.getData()) },
        y: log ? { distr: 3, log: 10 } : { range: linearRange },
      },
      axes: [
        // uPlot passes null for ticks it leaves unlabelled (a log axis between decades).
        {
          ...axis,
          incrs: secondSteps,
          values: (_u, ticks) => ticks.map((t: number | null) => (t === null ? '' : formatSecond(t))),
        },
        {
          ...axis,
          size: 56,
          values: (_u, ticks) => ticks.map((t: number | null) => (t === null ? '' : `${formatNumber(t)}${spec.unit}`)),
        },
      ],
      series: [
        // The second the cursor is in (values sit mid-second).
        { label: 'run time', value: (_u, v) => (v === null ? '-' : formatSecond(Math.floor(v))) },
        ...spec.series.map((s) => seriesOptions(s, spec.unit)),
      ],
      legend: { markers: { fill: (u, i) => spec.series[i - 1]?.style.color ?? c.theme.fg } },
      plugins: [overlayPlugin(c.getData, () => c.theme)],
      hooks: { setScale: [(u, key) => key === 'x' && c.onScale(u)] },
    }
  }

  function seriesOptions(s: SeriesSpec, unit: string): import('uplot').Series {
    const { color, dash, width = 1, hatch } = s.style
    return {
      label: s.label,
      stroke: color,
      width,
      ...(dash ? { dash } : {}),
      ...(hatch ? { fill: (u: UPlot) => hatchPattern(u.ctx, color, hatch) } : {}),
      points: { show: false },
      spanGaps: false,
      value: (_u, v, _si, i) => {
        const shown = s.own && i !== null ? (s.own[i] ?? null) : v
        return shown === null ? '-' : `${formatNumber(shown)}${unit}`
      },
    }
  }

  /** The chart's data in uPlot's columnar form; on a log scale values <= 0 have no place and are gaps. */
  export function alignedData(spec: ChartSpec, log: boolean): import('uplot').AlignedData {
    const positive = (v: number | null): number | null => (v !== null && v > 0 ? v : null)
    return [spec.x, ...spec.series.map((s) => (spec.latency && log ? s.values.map(positive) : s.values))]
  }

  /** Time ticks fall on whole seconds, minutes and hours. */
  const secondSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200]

  /**
   * Every chart spans the whole run, even one whose series starts late (a target metric scraped every
   * 5 s): uPlot asks for the x range with its data's ends when it ranges by itself (first draw, double
   * click), and with the zoom's ends otherwise.
   */
  function xRange(u: UPlot, min: number | null, max: number | null, data: ChartData): [number, number] {
    const x = u.data[0]
    const t = data.seconds.t
    const own = min === null || max === null || (min === x[0] && max === x[x.length - 1])
    if (!own) return [min, max]
    if (t.length > 0) return [t[0]!, t[t.length - 1]! + 1]
    return [min ?? 0, max ?? 1]
  }

  /** Linear charts start at zero: a rate or a count read from a cut-off axis misleads. */
  const linearRange = (_u: UPlot, _min: number | null, max: number | null): [number, number] => [
    0,
    max !== null && max > 0 ? max * 1.05 : 1,
  ]

  export function formatSecond(s: number): string {
    const whole = Math.round(s)
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`
  }

  export function formatNumber(v: number): string {
    const abs = Math.abs(v)
    if (abs >= 1e6) return `${+(v / 1e6).toFixed(1)}M`
    if (abs >= 1e4) return `${+(v / 1e3).toFixed(1)}k`
    if (abs >= 100 || Number.isInteger(v)) return String(Math.round(v))
    return String(+v.toFixed(abs >= 1 ? 1 : 3))
  }
}
