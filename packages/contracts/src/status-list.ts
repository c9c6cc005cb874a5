import { Type } from '@sinclair/typebox'
import { withHint } from './duration-text.js'
import { GauntletError } from './errors.js'

/**
 * `target.expect.status` items: a status (200), a range ("200-299") or a class ("2xx"). The schema
 * checks the spelling; parseStatusItem adds what a pattern cannot say (a range must not run backwards)
 * and turns each item into an inclusive range, so deciding a response is a few comparisons.
 */
export const StatusItemSchema = withHint(
  Type.Union([
    Type.Integer({ minimum: 100, maximum: 599 }),
    // Loose on digits: parseStatusItem says precisely what is wrong with "6xx" or "200-600".
    Type.String({ pattern: '^([0-9]{3}(-[0-9]{3})?|[0-9][xX]{2})$' }),
  ]),
  'expected a status (100-599), a range of statuses ("200-299") or a class ("2xx")',
)

export const StatusListSchema = Type.Array(StatusItemSchema, {
  minItems: 1,
  maxItems: 100,
  uniqueItems: true,
  description:
    'The statuses that count as success: statuses, ranges or classes, e.g. [200, "300-302", "2xx"]. Every other ' +
    'response, a 2xx included, is an error of its status.',
})

/** Inclusive [lowest, highest] status. */
export type StatusRange = readonly [number, number]

/** The range an item stands for, or why it is not one. */
export function parseStatusItem(item: number | string): { range: StatusRange } | { problem: string } {
  if (typeof item === 'number') {
    return Number.isInteger(item) && item >= 100 && item <= 599
      ? { range: [item, item] }
      : { problem: `${item} is not a status (100-599)` }
  }
  const cls = /^([1-5])xx$/i.exec(item)
  if (cls) return { range: [Number(cls[1]) * 100, Number(cls[1]) * 100 + 99] }
  if (/^[0-9]xx$/i.test(item)) return { problem: `"${item}" is not a status class: classes are 1xx to 5xx` }
  const range = /^([0-9]{3})(?:-([0-9]{3}))?$/.exec(item)
  if (!range) return { problem: `"${item}" is not a status, a range ("200-299") or a class ("2xx")` }
  const low = Number(range[1])
  const high = range[2] === undefined ? low : Number(range[2])
  if (low < 100 || high > 599) return { problem: `"${item}" is outside the statuses 100-599` }
  if (low > high) return { problem: `"${item}" runs backwards: write the lower status first` }
  return { range: [low, high] }
}

/**
 * Every item's range. The scenario loader reports bad items with their path; this throws for one that
 * reaches an agent anyway (an assignment is only schema-checked).
 */
export function parseStatusList(items: ReadonlyArray<number | string>): StatusRange[] {
  return items.map((item, i) => {
    const parsed = parseStatusItem(item)
    if ('problem' in parsed) throw new GauntletError('invalid_scenario', `expectStatus/${i}: ${parsed.problem}`)
    return parsed.range
  })
}
