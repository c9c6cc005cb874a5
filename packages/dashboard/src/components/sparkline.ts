// A small inline chart of one value per step (p99 by step on the runs list): an SVG line, with its
// values in words for screen readers and as a tooltip. Steps without a value are gaps in the line.
import { html } from 'htm/preact'

const width = 80
const height = 20
const pad = 2

export function Sparkline({
  values,
  label,
  unit,
}: {
  values: ReadonlyArray<number | null>
  label: string
  unit: string
}) {
  const numbers = values.filter((v): v is number => v !== null && Number.isFinite(v))
  const text = `${label}: ${values.length ? values.map((v) => (v === null ? '—' : `${round(v)} ${unit}`)).join(', ') : 'none'}`
  if (numbers.length === 0) return html`<span class="muted" title=${text} aria-label=${text}>—</span>`
  const max = Math.max(...numbers)
  const min = Math.min(0, ...numbers)
  const x = (i: number): number =>
    values.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (values.length - 1)
  const y = (v: number): number => height - pad - ((v - min) / (max - min || 1)) * (height - 2 * pad)
  // One polyline per run of consecutive values; a lone value is a dot.
  const runs: Array<Array<[number, number]>> = [[]]
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) runs.push([])
    else runs[runs.length - 1]!.push([x(i), y(v)])
  })
  return html`<svg
    class="sparkline"
    role="img"
    aria-label=${text}
    width=${width}
    height=${height}
    viewBox=${`0 0 ${width} ${height}`}
  >
    <title>${text}</title>
    ${runs
      .filter((r) => r.length > 0)
      .map((r) =>
        r.length === 1
          ? html`<circle cx=${r[0]![0]} cy=${r[0]![1]} r="1.8" />`
          : html`<polyline points=${r.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')} />`,
      )}
  </svg>`
}

function round(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
}
