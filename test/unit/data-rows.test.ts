import { describe, expect, it } from 'vitest'
import { DataRows, type DataOrder, type DataRowsOptions } from '../../apps/agent/src/load/data-rows.js'

const columns = ['sku', 'qty']
const rows = [
  ['A', '1'],
  ['B', '2'],
  ['C', '3'],
]

/** The `sku` of each of `count` sends (undefined where no row was given). */
function skus(data: DataRows, count: number): (string | undefined)[] {
  return Array.from({ length: count }, () => data.next()?.sku)
}

/** A random() that returns the given values in turn. */
function draws(...values: number[]): () => number {
  let at = 0
  return () => values[at++ % values.length]!
}

describe('DataRows', () => {
  it.each<[string, Partial<DataRowsOptions> & { order: DataOrder }, (string | undefined)[]]>([
    ['sequential walks in file order and wraps', { order: 'sequential' }, ['A', 'B', 'C', 'A', 'B', 'C', 'A']],
    ['sequential from a start offset', { order: 'sequential', start: 2 }, ['C', 'A', 'B', 'C', 'A', 'B', 'C']],
    ['sequential wraps a start past the end', { order: 'sequential', start: 4 }, ['B', 'C', 'A', 'B', 'C', 'A', 'B']],
    [
      'random maps [0, 1) uniformly onto the rows',
      { order: 'random', random: draws(0, 0.33, 0.34, 0.66, 0.67, 0.999, 0.5) },
      ['A', 'A', 'B', 'B', 'C', 'C', 'B'],
    ],
    ['random never reads past the last row, even if random() returns 1', { order: 'random', random: draws(1) }, ['C']],
    [
      'unique gives each row once in file order, then nothing',
      { order: 'unique' },
      ['A', 'B', 'C', undefined, undefined],
    ],
    [
      'unique ignores a start offset (start is for sequential)',
      { order: 'unique', start: 2 },
      ['A', 'B', 'C', undefined],
    ],
  ])('%s', (_name, options, expected) => {
    const data = new DataRows({ columns, rows, ...options })
    expect(skus(data, expected.length)).toEqual(expected)
  })

  it('gives every column of a send from the same row', () => {
    const data = new DataRows({ columns, rows, order: 'random', random: draws(0.5, 0.9) })
    expect({ ...data.next() }).toEqual({ sku: 'B', qty: '2' })
    expect({ ...data.next() }).toEqual({ sku: 'C', qty: '3' })
  })

  it('random draws are uniform over many sends', () => {
    // A seeded generator (mulberry32): the counts are fixed, so the test cannot flake.
    let seed = 42
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const data = new DataRows({ columns, rows, order: 'random', random })
    const counts = new Map<string | undefined, number>()
    for (const sku of skus(data, 30_000)) counts.set(sku, (counts.get(sku) ?? 0) + 1)
    expect([...counts.keys()].sort()).toEqual(['A', 'B', 'C'])
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(300)
  })

  it('counts what it handed out and says when unique is exhausted', () => {
    const data = new DataRows({ columns, rows, order: 'unique' })
    expect([data.used, data.exhausted]).toEqual([0, false])
    data.next()
    data.next()
    expect([data.used, data.exhausted]).toEqual([2, false])
    data.next()
    expect([data.used, data.exhausted]).toEqual([3, true])
    // Asking again changes nothing: exhausted is forever.
    expect(data.next()).toBeUndefined()
    expect([data.used, data.exhausted]).toEqual([3, true])
  })

  it.each<DataOrder>(['sequential', 'random'])('%s is never exhausted and counts every send', (order) => {
    const data = new DataRows({ columns, rows, order, random: draws(0.1) })
    skus(data, 10)
    expect([data.used, data.exhausted]).toEqual([10, false])
  })

  it('a unique share with no rows (more agents than rows) is exhausted from the start', () => {
    const data = new DataRows({ columns, rows: [], order: 'unique' })
    expect([data.exhausted, data.next(), data.used]).toEqual([true, undefined, 0])
  })

  it.each<[DataOrder, () => number]>([
    // Sends: A, B, C, A (wrapped).
    ['sequential', draws(0)],
    // Draws: A, B, C, A.
    ['random', draws(0, 0.5, 0.9, 0)],
  ])('%s hands out the same record each time a row comes back: nothing is built per send', (order, random) => {
    const data = new DataRows({ columns, rows, order, random })
    const first = data.next()
    data.next()
    data.next()
    expect(data.next()).toBe(first)
  })

  it('records are frozen and without a prototype (a column may be named __proto__)', () => {
    const data = new DataRows({ columns: ['__proto__', 'constructor'], rows: [['x', 'y']], order: 'sequential' })
    const record = data.next()!
    expect(Object.getPrototypeOf(record)).toBeNull()
    expect(Object.keys(record)).toEqual(['__proto__', 'constructor'])
    expect([record.__proto__, record.constructor]).toEqual(['x', 'y'])
    expect(Object.isFrozen(record)).toBe(true)
  })

  it.each<[string, DataRowsOptions, string]>([
    [
      'sequential without rows',
      { columns, rows: [], order: 'sequential' },
      'a sequential data set needs at least one row',
    ],
    ['random without rows', { columns, rows: [], order: 'random' }, 'a random data set needs at least one row'],
    [
      'a row with too few cells',
      { columns, rows: [['A', '1'], ['B']], order: 'unique' },
      'data row 2 has 1 cells, there are 2 columns',
    ],
    ['a negative start', { columns, rows, order: 'sequential', start: -1 }, 'start must be a whole number ≥ 0, got -1'],
    [
      'a fractional start',
      { columns, rows, order: 'sequential', start: 1.5 },
      'start must be a whole number ≥ 0, got 1.5',
    ],
  ])('refuses %s', (_name, options, message) => {
    expect(() => new DataRows(options)).toThrow(message)
  })
})
