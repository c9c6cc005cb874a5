const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/** Parses "500ms", "30s", "1.5m", "2h" into milliseconds; undefined when the text is not a duration. */
export function parseDurationMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(text.trim())
  if (!match) return undefined
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs]
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

/** Windows are 1 s, so step-shaped durations must be whole seconds. Reports through `add` otherwise. */
export function wholeSeconds(
  ms: number,
  path: string,
  add: (path: string, message: string) => void,
): number | undefined {
  if (ms % 1000 !== 0) {
    add(path, `must be a whole number of seconds (windows are 1s), got ${ms}ms`)
    return undefined
  }
  return ms / 1000
}
