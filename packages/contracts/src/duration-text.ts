import { Type, type TSchema } from '@sinclair/typebox'

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
