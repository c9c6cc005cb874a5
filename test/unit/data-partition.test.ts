import { describe, expect, it } from 'vitest'
import { partitionRows, seqOf, type DataOrder } from '../../packages/contracts/src/data-partition.js'

/** Rows ['r0'] … ['r<count-1>']. */
const numbered = (count: number): string[][] => Array.from({ length: count }, (_, i) => [`r${i}`])

describe('partitionRows', () => {
  it.each<[string, number, number, number, string[]]>([
    ['one agent gets every row', 5, 1, 0, ['r0', 'r1', 'r2', 'r3', 'r4']],
    ['agent 0 of 3', 8, 3, 0, ['r0', 'r3', 'r6']],
    ['agent 1 of 3', 8, 3, 1, ['r1', 'r4', 'r7']],
    ['agent 2 of 3 (one row fewer)', 8, 3, 2, ['r2', 'r5']],
    ['an agent beyond the row count gets none', 2, 3, 2, []],
  ])('unique: %s', (_name, rowCount, agentCount, agentIndex, expected) => {
    expect(partitionRows(numbered(rowCount), 'unique', agentCount, agentIndex).map((row) => row[0])).toEqual(expected)
  })

  it('unique: the shares are disjoint and together are every row once', () => {
    const rows = numbered(101)
    const shares = [0, 1, 2, 3].map((agent) => partitionRows(rows, 'unique', 4, agent))
    const all = shares.flat().map((row) => row[0])
    expect(all).toHaveLength(101)
    expect(new Set(all).size).toBe(101)
    expect(shares.map((share) => share.length)).toEqual([26, 25, 25, 25])
  })

  it.each<DataOrder>(['sequential', 'random'])('%s: every agent gets all rows', (order) => {
    const rows = numbered(5)
    for (const agent of [0, 1, 2]) expect(partitionRows(rows, order, 3, agent)).toBe(rows)
  })

  it.each<[string, number, number, string]>([
    ['no agents', 0, 0, 'agentCount must be a whole number ≥ 1, got 0'],
    ['a fractional agent count', 1.5, 0, 'agentCount must be a whole number ≥ 1, got 1.5'],
    ['an index past the last agent', 3, 3, 'agentIndex must be a whole number from 0 to 2, got 3'],
    ['a negative index', 3, -1, 'agentIndex must be a whole number from 0 to 2, got -1'],
    ['a fractional index', 3, 0.5, 'agentIndex must be a whole number from 0 to 2, got 0.5'],
  ])('refuses %s', (_name, agentCount, agentIndex, message) => {
    expect(() => partitionRows(numbered(3), 'unique', agentCount, agentIndex)).toThrow(message)
    expect(() => seqOf(0, agentCount, agentIndex)).toThrow(message)
  })
})

describe('seqOf', () => {
  it.each<[number, number, number, number]>([
    [0, 1, 0, 0],
    [7, 1, 0, 7],
    [0, 3, 0, 0],
    [0, 3, 2, 2],
    [1, 3, 0, 3],
    [4, 3, 1, 13],
  ])('localSeq %i, %i agents, agent %i → seq %i', (localSeq, agentCount, agentIndex, seq) => {
    expect(seqOf(localSeq, agentCount, agentIndex)).toBe(seq)
  })

  it('numbers every send of every agent once', () => {
    const seen = new Set<number>()
    for (let agent = 0; agent < 4; agent++) for (let local = 0; local < 250; local++) seen.add(seqOf(local, 4, agent))
    expect(seen.size).toBe(1000)
    expect(Math.min(...seen)).toBe(0)
    expect(Math.max(...seen)).toBe(999)
  })
})
