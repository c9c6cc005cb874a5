/**
 * The per-second window an agent reports. Outcomes (latency, errors) belong to the window of each
 * request's *intended* send time, so a stall shows up in the seconds users were hit; `sent` counts
 * sends that actually left during the window's wall-clock second, which is what "achieved rate" means.
 */
export interface ErrorCounts {
  /** Responses with a status >= 400, by status code. */
  status: Record<string, number>
  timeout: number
  refused: number
  reset: number
  other: number
}

export interface WindowReport {
  /** Seconds since the run's start; window i covers [i, i+1) s. */
  index: number
  step: number
  /** Epoch milliseconds of the window's start. */
  startedAt: number
  planned: number
  /** Sends that left during this wall-clock second (whichever window they were intended for): the achieved rate. */
  sent: number
  /** Requests intended in this window that left (late ones included): what a step "sent". */
  dispatched: number
  /** Planned sends the generator gave up on (overdue by more than the request timeout). */
  dropped: number
  /** Requests with a response of status < 400. */
  ok: number
  errors: ErrorCounts
  /** HDR histogram (microseconds, 3 significant digits) of successful responses, compressed base64. */
  latency: string
  /** Sends that left more than `lateSendMs` after their intended time. */
  lateSends: number
  maxSendLagMs: number
  generatorLimited: boolean
  /** False when the run was stopped before every request of this window was answered. */
  complete: boolean
  openConnections: number
}

export const lateSendMs = 20

export function emptyErrorCounts(): ErrorCounts {
  return { status: {}, timeout: 0, refused: 0, reset: 0, other: 0 }
}

export function totalErrors(errors: ErrorCounts): number {
  let total = errors.timeout + errors.refused + errors.reset + errors.other
  for (const count of Object.values(errors.status)) total += count
  return total
}

export function addErrorCounts(into: ErrorCounts, from: ErrorCounts): void {
  into.timeout += from.timeout
  into.refused += from.refused
  into.reset += from.reset
  into.other += from.other
  for (const [status, count] of Object.entries(from.status)) into.status[status] = (into.status[status] ?? 0) + count
}
