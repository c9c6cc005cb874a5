/**
 * Which data rows each agent of a distributed run receives, and how agents number their sends, so that
 * what must be unique across the run stays unique when several agents send. An agent's load threads
 * deal its share the same way among themselves (see the agent's thread-plans.ts).
 */

export type DataOrder = 'sequential' | 'random' | 'unique'

/**
 * The rows agent `agentIndex` of `agentCount` receives.
 *
 * - unique: agent i gets rows i, i+n, i+2n… (n agents): the shares are disjoint, so no row is sent twice
 *   across the run; each agent walks its share in file order and stops when it is used up. Shares differ
 *   by at most one row; an agent beyond the row count gets none.
 * - sequential and random: every agent gets all rows (the same array, not a copy). Repeats are their
 *   nature (sequential wraps, random draws with replacement), so splitting would only make each agent's
 *   choice narrower without making anything unique.
 */
export function partitionRows(rows: string[][], order: DataOrder, agentCount: number, agentIndex: number): string[][] {
  checkAgent(agentCount, agentIndex)
  if (order !== 'unique' || agentCount === 1) return rows
  const share: string[][] = []
  for (let index = agentIndex; index < rows.length; index += agentCount) share.push(rows[index]!)
  return share
}

/**
 * The run-wide `{{ seq }}` of an agent's `localSeq`-th send (0-based): agent i of n uses i, i+n, i+2n…,
 * so `{{ seq }}` is unique across agents without them coordinating. (The run-wide numbers are not
 * dense in time order: a faster agent runs ahead.)
 */
export function seqOf(localSeq: number, agentCount: number, agentIndex: number): number {
  checkAgent(agentCount, agentIndex)
  return localSeq * agentCount + agentIndex
}

function checkAgent(agentCount: number, agentIndex: number): void {
  if (!Number.isSafeInteger(agentCount) || agentCount < 1) {
    throw new RangeError(`agentCount must be a whole number ≥ 1, got ${agentCount}`)
  }
  if (!Number.isSafeInteger(agentIndex) || agentIndex < 0 || agentIndex >= agentCount) {
    throw new RangeError(`agentIndex must be a whole number from 0 to ${agentCount - 1}, got ${agentIndex}`)
  }
}
