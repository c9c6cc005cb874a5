import { Type, type TSchema } from '#typebox'

// `errorMessage` replaces TypeBox's generic wording where a pattern alone would be cryptic.
export const withHint = <T extends TSchema>(schema: T, errorMessage: string): T =>
  Object.assign(schema, { errorMessage })

export const DurationText = withHint(
  Type.String({
    pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$',
    description: 'A duration with a unit: 500ms, 30s, 1.5m, 2h.',
    examples: ['30s'],
  }),
  'expected a duration with a unit, like 500ms, 30s, 2m or 1h',
)

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const

/** Parses "500ms", "30s", "1.5m", "2h" into milliseconds; undefined when the text is not a duration. */
export function parseDurationMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(text.trim())
  if (!match) return undefined
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs]
}

/** The shortest exact spelling of `ms`: 2h, 90s, 1500ms. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}
