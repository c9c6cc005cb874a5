import { Type, type Static } from '#typebox'
import { maxRequestNames, maxTlsFailureChars } from './window-limits.js'

/**
 * The per-second window an agent reports. Outcomes (latency, errors) belong to the window of each
 * request's *intended* send time, so a stall shows up in the seconds users were hit; `sent` counts
 * sends that actually left during the window's wall-clock second, which is what "achieved rate" means.
 * A TypeBox schema because agents send windows over HTTP and the controller validates them.
 */
const Count = Type.Integer({ minimum: 0 })

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
