import { randomInt, randomUUID } from 'node:crypto'
import { DataRows, type DataOrder, type DataRecord } from './data-rows.js'
import type { SendValues } from './request-bytes.js'

/** A data set as an agent gets it (its share, for unique). */
export interface DataSetShare {
  columns: string[]
  rows: string[][]
  order: DataOrder
}

/** This agent's place among the agents of a run: `{{ seq }}` stays unique across them. */
export interface AgentSlot {
  index: number
  count: number
}

/** A unique data set ran out: no further send can be made. */
export class DataExhausted extends Error {
  constructor(
    readonly set: string,
    readonly rows: number,
  ) {
    super(`data set ${set} (unique) ran out after ${rows} row${rows === 1 ? '' : 's'}`)
  }
}

/**
 * The values of each send's templates: a counter, the clock, random values, and one row per data set
 * (every column a send reads from one set comes from the same row). Rows are taken only for the sets a
 * request reads, when it reads them. One object serves every send (a send's templates are rendered
 * before the next send begins), so the hot path allocates nothing here.
 */
export class SendValueSource implements SendValues {
  seq = 0
  nowMs = 0
  private readonly sets = new Map<string, DataRows>()
  /** This send's rows, by set: a row taken once per send, whatever columns it is read for. */
  private readonly rows = new Map<string, DataRecord>()
  private localSeq = 0

  constructor(
    data: Readonly<Record<string, DataSetShare>>,
    private readonly slot: AgentSlot = { index: 0, count: 1 },
  ) {
    for (const [name, set] of Object.entries(data))
      this.sets.set(name, new DataRows({ ...set, ...(set.order === 'sequential' ? { start: slot.index } : {}) }))
  }

  /** The values of the next send. Throws DataExhausted (from `row`) when a unique set has no row left. */
  next(nowMs: number): SendValues {
    // Unique across agents: agent i of n numbers its sends i, i+n, i+2n...
    this.seq = this.localSeq++ * this.slot.count + this.slot.index
    this.nowMs = nowMs
    if (this.rows.size > 0) this.rows.clear()
    return this
  }

  uuid(): string {
    return randomUUID()
  }

  randomInt(min: number, max: number): number {
    return min === max ? min : randomInt(min, max + 1)
  }

  row(set: string): DataRecord {
    let row = this.rows.get(set)
    if (row) return row
    const source = this.sets.get(set)
    if (!source) throw new Error(`no data set ${set}`)
    row = source.next()
    if (!row) throw new DataExhausted(set, source.used)
    this.rows.set(set, row)
    return row
  }
}
