/**
 * The rows of one data set on an agent, handed out one per send (`{{ data.<set>.<column> }}`: every
 * column read in one send comes from the same row). On the hot path: sequential and random hand out a
 * record built once per row and cached, so a send allocates nothing here.
 */

export type DataOrder = 'sequential' | 'random' | 'unique'

export type DataRecord = Readonly<Record<string, string>>

export interface DataRowsOptions {
  columns: readonly string[]
  rows: readonly (readonly string[])[]
  /** sequential walks the rows in order and wraps; random draws uniformly; unique gives each row once. */
  order: DataOrder
  /** A number in [0, 1), as Math.random; injectable for tests. */
  random?: () => number
  /** Sequential only: the row index to start from (wrapped), so agents or runs need not all start at row 0. */
  start?: number
}

export class DataRows {
  readonly #columns: readonly string[]
  readonly #rows: readonly (readonly string[])[]
  readonly #order: DataOrder
  readonly #random: () => number
  /** Records by row index, filled on first use: a 1,000,000-row set pays only for the rows it sends. */
  readonly #records: (DataRecord | undefined)[]
  #cursor: number
  #used = 0

  constructor(options: DataRowsOptions) {
    const { columns, rows, order } = options
    // Unique rows are split between agents, so an agent may get none (more agents than rows): it is
    // exhausted from the start. Sequential and random always get the whole (non-empty) set.
    if (rows.length === 0 && order !== 'unique') throw new RangeError(`a ${order} data set needs at least one row`)
    rows.forEach((row, index) => {
      if (row.length !== columns.length) {
        throw new RangeError(`data row ${index + 1} has ${row.length} cells, there are ${columns.length} columns`)
      }
    })
    const start = options.start ?? 0
    if (!Number.isSafeInteger(start) || start < 0)
      throw new RangeError(`start must be a whole number ≥ 0, got ${start}`)
    this.#columns = columns
    this.#rows = rows
    this.#order = order
    this.#random = options.random ?? Math.random
    this.#records = new Array<DataRecord | undefined>(order === 'unique' ? 0 : rows.length)
    this.#cursor = order === 'sequential' ? start % rows.length : 0
  }

  /** How many rows were handed out. */
  get used(): number {
    return this.#used
  }

  /** True once a unique set has handed out every row: no later send gets a row. Never true otherwise. */
  get exhausted(): boolean {
    return this.#order === 'unique' && this.#cursor >= this.#rows.length
  }

  /** The row for the next send, or undefined when a unique set is exhausted (forever after). */
  next(): DataRecord | undefined {
    switch (this.#order) {
      case 'sequential': {
        const index = this.#cursor
        this.#cursor = index + 1 === this.#rows.length ? 0 : index + 1
        this.#used++
        return this.#cached(index)
      }
      case 'random': {
        // min(): a random() that returns 1 (a broken generator) must not read past the last row.
        const index = Math.min(Math.floor(this.#random() * this.#rows.length), this.#rows.length - 1)
        this.#used++
        return this.#cached(index)
      }
      case 'unique': {
        if (this.#cursor >= this.#rows.length) return undefined
        // Each row is read once: caching its record would only hold memory.
        const record = this.#build(this.#cursor)
        this.#cursor++
        this.#used++
        return record
      }
    }
  }

  #cached(index: number): DataRecord {
    let record = this.#records[index]
    if (record === undefined) {
      record = this.#build(index)
      this.#records[index] = record
    }
    return record
  }

  /**
   * A frozen record without a prototype: a column named `__proto__` or `constructor` is an ordinary key,
   * and the cached record cannot be changed by whoever renders it.
   */
  #build(index: number): DataRecord {
    const row = this.#rows[index]!
    const record = Object.create(null) as Record<string, string>
    for (let column = 0; column < this.#columns.length; column++) record[this.#columns[column]!] = row[column]!
    return Object.freeze(record)
  }
}
