// The module's public types. Every file of this package is a script merged into the one namespace
// GauntletCharts (see tsconfig.json): no file may import or export at top level.
namespace GauntletCharts {
  export type ChartData = import('@gauntlet/contracts').ChartData
  export type DecisionMark = import('@gauntlet/contracts').DecisionMark
  export type FaultSpan = import('@gauntlet/contracts').FaultSpan

  export interface RunChartsOptions {
    /** Latency on a log scale from the start (the toggle above the latency chart switches it). */
    logLatency?: boolean
    /** Plot height in CSS pixels; narrower screens get less. Default 200. */
    height?: number
    /** uPlot sync key: charts sharing one key share the cursor and the zoom. Default "gauntlet-run". */
    syncKey?: string
  }

  /** What drawRunCharts hands back: a live dashboard calls update() with the seconds so far. */
  export interface RunChartsHandle {
    /** One uPlot per chart, in page order (the latency chart first). */
    readonly charts: ReadonlyArray<import('uplot')>
    /** Redraws with new data (the whole ChartData so far); charts are rebuilt only when the set changes. */
    update(data: ChartData): void
    setLogLatency(log: boolean): void
    destroy(): void
  }

  /** One series of one chart, already aligned to the chart's x values. */
  export interface SeriesSpec {
    label: string
    values: Array<number | null>
    /** What the legend shows at the cursor when `values` are stacked sums. */
    own?: Array<number | null>
    style: SeriesStyle
  }

  export interface SeriesStyle {
    color: string
    dash?: number[]
    width?: number
    /** A filled area (stacked error classes); the hatch is a second signal besides the colour. */
    hatch?: 'none' | 'diagonal' | 'cross' | 'dots' | 'horizontal' | 'vertical' | 'back'
  }

  /** One chart: a title, its unit, the x values (run seconds) and its series. */
  export interface ChartSpec {
    key: string
    title: string
    unit: string
    x: number[]
    series: SeriesSpec[]
    /** The latency chart: the log toggle applies to it. */
    latency?: boolean
  }
}
