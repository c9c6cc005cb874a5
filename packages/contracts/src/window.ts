import type { StatusRange } from './status-list.js'
import type { ErrorCounts } from './window-schema.js'

/**
 * What the load thread and the controller compute on windows, without their schema (window-schema.ts):
 * the load thread uses this without loading TypeBox.
 */

export const lateSendMs = 20

/**
 * How long after its step's planned end a send may still leave; later, it is dropped. Enough for timer
 * and event-loop jitter on a step's last sends (5x lateSendMs) to cost no drop; small enough that a
 * step's traffic ends when its plan does (at most a tenth of a second spills into the next second).
 */
export const leaveGraceMs = 100

/**
 * Whether a response's status is a success. Without `expected` (the scenario's target.expect.status,
 * parsed by parseStatusList), any 2xx; with it, exactly the listed statuses, ranges and classes (as k6's
 * expectedStatuses). Every other response, a redirect not followed included, is an error counted under
 * its status code. A success by status can still fail the scenario's other checks (class `check`).
 */
export function isExpectedStatus(status: number, expected?: readonly StatusRange[]): boolean {
  if (expected === undefined) return status >= 200 && status <= 299
  for (const [low, high] of expected) if (status >= low && status <= high) return true
  return false
}

export function emptyErrorCounts(): ErrorCounts {
  return { status: {}, timeout: 0, refused: 0, reset: 0, tls: 0, check: 0, other: 0 }
}

export function totalErrors(errors: ErrorCounts): number {
  let total = errors.timeout + errors.refused + errors.reset + (errors.tls ?? 0) + (errors.check ?? 0) + errors.other
  for (const count of Object.values(errors.status)) total += count
  return total
}

export function addErrorCounts(into: ErrorCounts, from: ErrorCounts): void {
  into.timeout += from.timeout
  into.refused += from.refused
  into.reset += from.reset
  into.tls = (into.tls ?? 0) + (from.tls ?? 0)
  into.check = (into.check ?? 0) + (from.check ?? 0)
  into.other += from.other
  for (const [status, count] of Object.entries(from.status)) into.status[status] = (into.status[status] ?? 0) + count
}
