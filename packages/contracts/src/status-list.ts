import { GauntletError } from './errors.js'

/**
 * `target.expect.status` items as inclusive ranges (their schema is in status-list-schema.ts; the load thread
 * parses them without loading TypeBox).
 */

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
