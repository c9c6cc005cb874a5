// How the run pages write times, durations and numbers; "—" wherever a value is not known.
export const dash = '—'

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return dash
  const date = new Date(iso)
  return Number.isNaN(date.getTime())
    ? dash
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return dash
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = s % 60
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return dash
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`
}

export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash
  return Number(v.toPrecision(digits)).toString()
}

/** A fraction as a percentage, to two decimals at most (0.0123 → "1.23%"), as the reports write error rates. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return dash
  return `${Math.round(fraction * 10_000) / 100}%`
}
