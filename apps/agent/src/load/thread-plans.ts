import { partitionRows } from '@gauntlet/contracts'
import type { LoadPlan } from './load-generator.js'
import type { DataSetShare } from './send-values.js'

/** More load threads than this is a mistake, not a machine (see `--workers`). */
export const maxWorkers = 64

/** The default thread count: every core but one (left to the agent's own loop and the OS), at least one. */
export function defaultWorkers(availableCores: number): number {
  return Math.min(maxWorkers, Math.max(1, availableCores - 1))
}

/**
 * The agent's plan dealt to `workers` load threads. Thread k takes lane k of the schedule (sends
 * j ≡ k mod n of every step, see lanes.ts), so the threads' sends together are the one-thread schedule.
 * What must stay unique stays unique: `{{ seq }}` — agent i of m numbers its sends i, i+m, i+2m…, and its
 * thread k takes every n-th of those (slot i + k·m of m·n), so no thread or agent reuses a number
 * whatever the other agents' thread counts; a unique data set's rows are dealt as agents deal them
 * (partitionRows), and a sequential one starts each thread at its own row. Connections are split too:
 * never more threads than connections, each thread at least one.
 */
export function threadPlans(plan: LoadPlan, workers: number): LoadPlan[] {
  const limit = plan.connections ?? plan.maxConnections
  const count = Math.max(1, Math.min(workers, limit))
  if (count === 1) return [plan]
  const slot = plan.slot ?? { index: 0, count: 1 }
  return Array.from({ length: count }, (_, k) => {
    const { connections, data, ...rest } = plan
    return {
      ...rest,
      lane: { index: k, count },
      slot: { index: slot.index + k * slot.count, count: slot.count * count },
      ...(data ? { data: threadData(data, count, k) } : {}),
      ...(connections !== undefined ? { connections: shareOf(connections, count, k) } : {}),
      maxConnections: shareOf(plan.maxConnections, count, k),
    }
  })
}

/** Thread k's part of `total` split over `count` threads (they add up to `total`). */
function shareOf(total: number, count: number, k: number): number {
  return Math.floor(total / count) + (k < total % count ? 1 : 0)
}

function threadData(
  data: Readonly<Record<string, DataSetShare>>,
  count: number,
  k: number,
): Record<string, DataSetShare> {
  return Object.fromEntries(
    Object.entries(data).map(([name, set]) => [name, { ...set, rows: partitionRows(set.rows, set.order, count, k) }]),
  )
}
