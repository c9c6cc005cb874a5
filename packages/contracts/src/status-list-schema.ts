import { Type } from '#typebox'
import { withHint } from './duration-text.js'

/**
 * `target.expect.status` items: a status (200), a range ("200-299") or a class ("2xx"). The schema
 * checks the spelling; parseStatusItem (status-list.ts) adds what a pattern cannot say (a range must not run backwards)
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
