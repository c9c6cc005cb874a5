// Which charts a run gets and their series, from ChartData alone (no DOM): latency, rates, errors
// stacked by class, connections, then one chart per target metric.
namespace GauntletCharts {
  /** Stacking order, bottom first: transport failures, then status classes. */
  const stackOrder = ['timeout', 'refused', 'reset', 'tls', '4xx', '5xx', 'check', 'other', '3xx'] as const

  export function chartSpecs(data: ChartData): ChartSpec[] {
    const s = data.seconds
    const x = midSeconds(data)
    return [
      {
        key: 'latency',
        title: 'Latency (successful responses)',
        unit: 'ms',
        x,
        latency: true,
        series: [
          { label: 'p50', values: s.p50, style: seriesStyles.p50 },
          { label: 'p90', values: s.p90, style: seriesStyles.p90 },
          { label: 'p99', values: s.p99, style: seriesStyles.p99 },
        ],
      },
      {
        key: 'rate',
        title: 'Requests per second: planned vs achieved',
        unit: 'rps',
        x,
        series: [
          // Planned drawn last: dashed over a solid achieved line that meets it.
          { label: 'achieved', values: s.achieved, style: seriesStyles.achieved },
          { label: 'planned', values: s.planned, style: seriesStyles.planned },
        ],
      },
      errorSpec(data),
      {
        key: 'connections',
        title: 'Open connections',
        unit: '',
        x,
        series: [{ label: 'connections', values: s.connections, style: seriesStyles.connections }],
      },
      ...data.targetMetrics.map((m, i): ChartSpec => ({
        key: `metric-${i}`,
        title: `Target metric: ${m.name}`,
        unit: '',
        x: m.points.map((p) => p[0]),
        series: [{ label: m.name, values: m.points.map((p) => p[1]), style: seriesStyles.metric }],
      })),
    ]
  }

  /**
   * Error rate (% of completed requests) stacked by class. uPlot has no stacking of its own: each
   * series holds the running sum up to its class and is drawn filled, the top of the stack first so
   * lower classes paint over it; the legend shows each class's own rate.
   */
  function errorSpec(data: ChartData): ChartSpec {
    const s = data.seconds
    const own = stackOrder.map((c) => s.t.map((_, i) => percent(s.errors[c][i] ?? 0, s.completed[i] ?? 0)))
    const sums = own.map((_, level) => s.t.map((__, i) => own.slice(0, level + 1).reduce((sum, o) => sum + o[i]!, 0)))
    const series = stackOrder.map((c, level): SeriesSpec => ({
      label: c,
      values: sums[level]!,
      own: own[level]!,
      style: errorClassStyles[c]!,
    }))
    return {
      key: 'errors',
      title: 'Error rate by class (stacked)',
      unit: '%',
      x: midSeconds(data),
      series: series.reverse(),
    }
  }

  /** A window covers run seconds [t, t + 1): its value is drawn in the middle, inside its own bands. */
  const midSeconds = (data: ChartData): number[] => data.seconds.t.map((t) => t + 0.5)

  const percent = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0)
}
