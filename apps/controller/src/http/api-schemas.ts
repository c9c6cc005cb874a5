import { FaultInventorySchema, WindowReportSchema, runStatuses } from '@gauntlet/contracts'
import { ProblemDetailsSchema } from '@gauntlet/http'
import { Type, type Static, type TSchema } from '@gauntlet/contracts/typebox'

/**
 * Response schemas of shapes that exist only in the controller's API. Request shapes and shared
 * documents (windows, heartbeats, faults) come from packages/contracts. fastify serializes a response
 * with its schema and drops what the schema does not name: objects that grow elsewhere (a run's
 * summary, a decision) are open (additionalProperties) rather than copied here.
 */

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** A string from a known list: an enum in the OpenAPI document, a plain string to the serializer. */
const stringEnum = (values: readonly string[], description?: string) =>
  Type.Unsafe<string>({ type: 'string', enum: [...values], ...(description ? { description } : {}) })

/** Every 4xx and 5xx answer of every route: application/problem+json. */
export const problemResponses = {
  '4xx': {
    description: 'A problem with the request',
    content: { 'application/problem+json': { schema: ProblemDetailsSchema } },
  },
  '5xx': {
    description: 'A problem on the controller',
    content: { 'application/problem+json': { schema: ProblemDetailsSchema } },
  },
}

/** Ids the controller makes (runs: 20260101-120000-a1b2c3, schedules: sch-a1b2c3d4); anything else is a 400. */
export const idPattern = '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$'
export const IdParams = Type.Object({ id: Type.String({ pattern: idPattern }) })

/** What a `text/*` route sends, for its OpenAPI entry. */
export const textResponse = (mediaType: string, description: string) => ({
  description,
  content: { [mediaType]: { schema: Type.String() } },
})

export const NoContent = Type.Null({ description: 'Done; no body.' })

// Runs

export const RunStatusSchema = stringEnum(runStatuses)

const RunBasicsSchema = Type.Object({
  id: Type.String(),
  scenario: Type.String(),
  target: Type.String(),
  status: RunStatusSchema,
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: nullable(Type.String({ format: 'date-time' })),
  verdict: nullable(Type.String({ description: "The summary's verdict once the run ended (pass, fail, error)." })),
  capacityRps: nullable(Type.Number()),
})

export const RunListItemSchema = Type.Composite(
  [
    RunBasicsSchema,
    Type.Object({
      durationS: nullable(
        Type.Number({
          description:
            "Seconds from its start to its end (the summary's, else createdAt to finishedAt); null while it runs.",
        }),
      ),
      faults: Type.Integer({ minimum: 0, description: 'Faults it applied (0 when none, and while it runs).' }),
      worstStep: nullable(
        Type.Object(
          {
            index: Type.Integer(),
            verdict: Type.String({ description: 'pass, fail, aborted or generator-limited' }),
            p99Ms: nullable(Type.Number()),
          },
          {
            description:
              'The step with the worst verdict (fail, then generator-limited, then aborted, then pass), the ' +
              'highest p99 among equals; null before the run has a summary or without steps.',
          },
        ),
      ),
      p99ByStep: Type.Array(nullable(Type.Number()), {
        description: "Each step's p99 in ms, in step order (null: nothing measured); empty while it runs.",
      }),
    }),
  ],
  { description: 'A run in the list: newest first; a Link rel=next header points to the next page.' },
)

const openObject = (description: string) => Type.Object({}, { additionalProperties: true, description })

/** The summary JSON of a finished run (documented with the summary itself); every field is kept. */
export const RunSummarySchema = Type.Object(
  {
    runId: Type.Optional(Type.String()),
    status: Type.Optional(RunStatusSchema),
    scenario: Type.Optional(Type.String()),
    target: Type.Optional(Type.String()),
    verdict: Type.Optional(Type.String()),
    capacityRps: Type.Optional(nullable(Type.Number())),
    reasons: Type.Optional(Type.Array(Type.String())),
    warnings: Type.Optional(Type.Array(Type.String())),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    steps: Type.Optional(Type.Array(openObject('One observed step: rates, latency, errors, verdict, thresholds.'))),
  },
  { additionalProperties: true, description: 'The run summary (the same JSON `gauntlet run --json` prints).' },
)

export const RunDetailSchema = Type.Composite([
  RunBasicsSchema,
  Type.Object({
    agents: Type.Array(Type.String(), { description: 'Agents that carried it (known once it ends).' }),
    summary: nullable(RunSummarySchema),
    plan: Type.Optional(
      Type.Object(
        {
          steps: Type.Array(
            Type.Object({ index: Type.Integer(), plannedRps: Type.Number(), durationS: Type.Number() }),
          ),
        },
        { description: "The scenario's planned steps (a step gate's hold lengthens a step beyond its plan)." },
      ),
    ),
  }),
])

export const RunAcceptedSchema = Type.Object({ id: Type.String(), status: Type.String() })

/** A window's latency percentiles, computed once when it was stored. */
const LatencyMsSchema = Type.Object({
  count: Type.Integer(),
  p50Ms: nullable(Type.Number()),
  p90Ms: nullable(Type.Number()),
  p95Ms: nullable(Type.Number()),
  p99Ms: nullable(Type.Number()),
  p999Ms: nullable(Type.Number()),
  maxMs: nullable(Type.Number()),
})

export const RunWindowSchema = Type.Composite([WindowReportSchema, Type.Object({ latencyMs: LatencyMsSchema })], {
  description: 'A stored window with its latency percentiles; a Link rel=next header points to the next page.',
})
export type RunWindow = Static<typeof RunWindowSchema>

export const DecisionRecordSchema = Type.Object(
  {
    at: Type.Optional(Type.String()),
    step: Type.Optional(Type.Integer()),
    guard: Type.Optional(Type.String()),
    verdict: Type.Optional(Type.String()),
    action: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    evidence: Type.Optional(openObject('The numbers behind it: n, estimate, 95% bounds, limit, seconds covered.')),
  },
  { additionalProperties: true, description: 'One decision of the run, with its evidence, in the order taken.' },
)

export const TargetSeriesSchema = Type.Record(
  Type.String(),
  Type.Array(Type.Object({ atS: Type.Number(), value: Type.Number() })),
  { description: "Each series of the target's own metrics: every scrape, in run seconds (negative: before the load)." },
)

export const RunEventsSchema = textResponse(
  'text/event-stream',
  'Server-sent events: window (each with its latencyMs, as in GET /api/runs/:id/windows), step, decision and ' +
    'status (the last one ends the stream).',
)

// Scenarios

export const ScenarioListItemSchema = Type.Object({ name: Type.String(), updatedAt: Type.String() })
export const StoredScenarioSchema = Type.Object({
  name: Type.String(),
  yaml: Type.String({ description: 'As stored, with its credentials redacted.' }),
  updatedAt: Type.String(),
})

// Schedules

export const ScheduleViewSchema = Type.Object({
  id: Type.String(),
  scenario: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
  concurrency: Type.String(),
  startingDeadlineS: Type.Number(),
  paused: Type.Boolean(),
  createdAt: Type.String(),
  lastScheduledAt: nullable(Type.String()),
  nextFireTimes: Type.Array(Type.String(), { description: 'The next three (none while paused).' }),
})

export const ScheduleFireSchema = Type.Object({
  scheduleId: Type.String(),
  scheduledAt: Type.String(),
  handledAt: Type.String(),
  outcome: stringEnum(['started', 'skipped', 'replaced', 'missed', 'refused']),
  runId: nullable(Type.String()),
  detail: nullable(Type.String()),
})

// Faults

export const FaultReportSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  mechanism: Type.String(),
  targets: Type.Array(Type.String()),
  appliedAt: Type.String(),
  untilAt: Type.String(),
  revertedAt: nullable(Type.String()),
  revertVerified: Type.Boolean(),
  notes: Type.Array(Type.String()),
  injector: Type.Optional(
    Type.Union([Type.Literal('holder'), Type.Literal('host')], {
      description: 'What held it: a holder container or host processes.',
    }),
  ),
  agent: Type.Optional(
    Type.String({ description: "The agent whose Docker engine holds it (absent: the controller's own, --docker)." }),
  ),
})

// Agents

export const AgentViewSchema = Type.Object({
  name: Type.String(),
  url: Type.String(),
  capacityRps: Type.Number(),
  version: Type.String(),
  state: stringEnum(['ready', 'busy', 'lost']),
  registeredAt: Type.String(),
  lastHeartbeatAt: Type.String(),
  runs: Type.Array(Type.String(), { description: 'Runs assigned to it now.' }),
  reportedRuns: Type.Array(Type.String(), { description: 'Runs it said it was loading in its last heartbeat.' }),
  clock: Type.Optional(
    Type.Object({
      offsetMs: Type.Number({ description: "Controller clock minus the agent's, as the agent estimates it." }),
      uncertaintyMs: Type.Number({
        description:
          'The estimate is right to within this (half its best heartbeat round trip): the bound on cross-host ' +
          'window alignment.',
      }),
    }),
  ),
  faults: Type.Optional(
    Type.Object(FaultInventorySchema.properties, {
      description:
        'Started with --docker: it can inject faults. What its Docker engine runs (refreshed every 5 s): the ' +
        'controller routes each fault to an agent whose engine holds the target.',
    }),
  ),
})

export const ReportAcceptedSchema = Type.Object({ accepted: Type.Integer({ description: 'Windows received.' }) })

// Operations

export const HealthSchema = Type.Object({ status: Type.Literal('ok') })
