/**
 * Reads the named metrics out of a Prometheus text exposition (format 0.0.4): each name's samples are
 * summed over their label sets (a gauge split by label is still one quantity for a leak hunt).
 * Comments, other metrics and unparsable lines are skipped; a name with no sample is absent.
 */
export function parsePrometheusText(text: string, names: readonly string[]): Map<string, number> {
  const wanted = new Set(names)
  const values = new Map<string, number>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line)
    if (!match || !wanted.has(match[1]!)) continue
    const value = parseSampleValue(match[3]!)
    if (value === undefined) continue
    values.set(match[1]!, (values.get(match[1]!) ?? 0) + value)
  }
  return values
}

function parseSampleValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  const value = Number(text)
  return Number.isNaN(value) ? undefined : value
}
