import { Type, type Static } from '@sinclair/typebox'
import type { StatusRange } from './status-list.js'

/**
 * The per-second window an agent reports. Outcomes (latency, errors) belong to the window of each
 * request's *intended* send time, so a stall shows up in the seconds users were hit; `sent` counts
 * sends that actually left during the window's wall-clock second, which is what "achieved rate" means.
 * A TypeBox schema because agents send windows over HTTP and the controller validates them.
 */
const Count = Type.Integer({ minimum: 0 })
/** A window's TLS failure reason is at most this long (the agent cuts it). */
export const maxTlsFailureChars = 200

export const ErrorCountsSchema = Type.Object(
  {
    status: Type.Record(Type.String({ pattern: '^[0-9]{3}$' }), Count, {
      description: 'Responses with a status that is not a success (see isExpectedStatus), by status code.',
    }),
    timeout: Count,
    refused: Count,
    reset: Count,
    /** Absent from windows stored before the class existed (read as 0). */
    tls: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "TLS failures: the target's certificate was not trusted, expired or named another host.",
      }),
    ),
    check: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Responses with an expected status that failed the request's other checks (body, header).",
      }),
    ),
    other: Count,
  },
  { additionalProperties: false },
)
export type ErrorCounts = Static<typeof ErrorCountsSchema>

/** One request of a mix within a window: its own outcomes, by the same rules as the window's. */
export const RequestCountsSchema = Type.Object(
  {
    dispatched: Count,
    ok: Count,
    errors: ErrorCountsSchema,
    latency: Type.String({ maxLength: 1_000_000, description: 'As the window latency, for this request only.' }),
  },
  { additionalProperties: false },
)
export type RequestCounts = Static<typeof RequestCountsSchema>

/** At most this many requests in a mix: each adds a histogram to every window it is sent in. */
export const maxRequestNames = 50

export const WindowReportSchema = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: "Seconds since the run's start; window i covers [i, i+1) s." }),
    step: Type.Integer({ minimum: 0 }),
    startedAt: Type.Number({
      description: "Epoch milliseconds of the window's start (the controller's clock for remote agents).",
    }),
    planned: Count,
    sent: Type.Integer({
      minimum: 0,
      description:
        'Requests that left during this wall-clock second of the run, whichever window they were intended for ' +
        '(written to a connected socket; a request whose connection failed first left with its connection ' +
        "attempt). The run's last window also counts what left in the grace after the plan's end (leaveGraceMs). " +
        'Sent per second is the achieved rate.',
    }),
    dispatched: Type.Integer({
      minimum: 0,
      description:
        "Requests intended in this window that left (late ones included, never after their step's end plus " +
        'leaveGraceMs). A complete window has planned = dispatched + dropped.',
    }),
    dropped: Type.Integer({
      minimum: 0,
      description:
        'Planned sends of this window the generator gave up on: overdue by more than the request timeout, or ' +
        "still not gone at their step's end plus leaveGraceMs. Any drop makes the window generator-limited.",
    }),
    ok: Type.Integer({
      minimum: 0,
      description:
        'Requests with a successful response: a 2xx, or a status the scenario expects (target.expect.status).',
    }),
    errors: ErrorCountsSchema,
    latency: Type.String({
      maxLength: 1_000_000,
      description: 'HDR histogram (microseconds, 3 significant digits) of successful responses, compressed base64.',
    }),
    lateSends: Type.Integer({
      minimum: 0,
      description:
        'Sends that left and were handed to a connection more than lateSendMs after their intended time (the ' +
        "generator's own delay; a connect or TLS handshake after the hand-over is the target's time, in the latency).",
    }),
    maxSendLagMs: Type.Number({ minimum: 0 }),
    generatorLimited: Type.Boolean(),
    complete: Type.Boolean({
      description: 'False when the run was stopped before every request of this window was answered.',
    }),
    openConnections: Count,
    tlsFailure: Type.Optional(
      Type.String({
        maxLength: maxTlsFailureChars,
        description:
          'Why the first TLS failure of this window failed (e.g. "certificate has expired"); absent without one. ' +
          'Merged windows keep the first agent\u2019s.',
      }),
    ),
    agents: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Merged windows: how many agents delivered this window.' }),
    ),
    missingAgents: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Merged windows: agents that had a share of this second but were lost before delivering it.',
      }),
    ),
    faults: Type.Optional(Type.Array(Type.String(), { description: 'Faults active during any part of this second.' })),
    requests: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' }), RequestCountsSchema, {
        maxProperties: maxRequestNames,
        description:
          "A mix's requests (scenario requests:), by name: each one's share of dispatched, ok, errors and " +
          'latency (they add up to the window). Absent for a scenario of one request.',
      }),
    ),
    skewMs: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'Merged windows: spread of the agents\u2019 start times for this second.',
      }),
    ),
  },
  { additionalProperties: false },
)
export type WindowReport = Static<typeof WindowReportSchema>

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
