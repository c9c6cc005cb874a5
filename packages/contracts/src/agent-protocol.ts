import { Type, type Static } from '@sinclair/typebox'
import { WindowReportSchema } from './window.js'

/**
 * What controller and agents say to each other over HTTP. Both sides send
 * `Authorization: Bearer <GAUNTLET_AGENT_SECRET>` when the secret is set.
 *
 *   agent -> controller  PUT  /api/agents/:name           Heartbeat (also registers) -> HeartbeatReply
 *   agent -> controller  POST /api/agents/:name/reports   AgentReport (windows, and the end of a run)
 *   controller -> agent  POST   /assignments              Assignment
 *   controller -> agent  PUT    /assignments/:runId/plan   Replan
 *   controller -> agent  DELETE /assignments/:runId        stop that run's load
 */

export const agentNamePattern = '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$'

/** How often agents heartbeat, and how long the controller waits before declaring one lost. */
export const heartbeatIntervalMs = 1_000
export const agentLostAfterMs = 3_000
/** How long an agent keeps loading without hearing from its controller. */
export const controllerLostAfterMs = 10_000

export const HeartbeatSchema = Type.Object(
  {
    url: Type.String({ format: 'uri', maxLength: 2048, description: 'Where the controller reaches this agent.' }),
    capacityRps: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'Requests per second this agent offers; rates are split in proportion.' }),
    runs: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 1000, description: 'Runs this agent is loading now.' }),
    version: Type.String({ maxLength: 50 }),
    clock: Type.Optional(
      Type.Object(
        {
          offsetMs: Type.Number({ description: "Controller clock minus this agent's clock, from its best heartbeat round trip." }),
          uncertaintyMs: Type.Number({ minimum: 0, description: 'Half that round trip: the offset is right to within this.' }),
        },
        { additionalProperties: false, description: "How well this agent knows the controller's clock (its windows are timed on it)." },
      ),
    ),
  },
  { additionalProperties: false },
)
export type Heartbeat = Static<typeof HeartbeatSchema>

export const HeartbeatReplySchema = Type.Object({
  /** The controller's clock (epoch ms) when it answered: the agent estimates its clock offset from it. */
  controllerTime: Type.Number(),
  /** Runs the controller expects this agent to be loading; anything else it is loading must stop. */
  runs: Type.Array(Type.String()),
})
export type HeartbeatReply = Static<typeof HeartbeatReplySchema>

export const PlannedStepSchema = Type.Object(
  {
    rps: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    durationS: Type.Integer({ minimum: 1, maximum: 86_400 }),
    step: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
)
/** One entry of an agent's plan: a rate for whole seconds, tagged with the scenario step it belongs to. */
export type AgentStep = Static<typeof PlannedStepSchema>

export const AssignmentSchema = Type.Object(
  {
    runId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }),
    target: Type.Object(
      {
        url: Type.String({ format: 'uri', maxLength: 8192 }),
        method: Type.String({ maxLength: 20 }),
        headers: Type.Record(Type.String(), Type.String()),
        body: Type.Optional(Type.String({ maxLength: 1_000_000 })),
        timeoutMs: Type.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    steps: Type.Array(PlannedStepSchema, { minItems: 1, maxItems: 10_000 }),
    connections: Type.Optional(Type.Integer({ minimum: 1 })),
    maxConnections: Type.Integer({ minimum: 1 }),
    /** Second 0 of the run on the controller's clock (epoch ms). */
    startAt: Type.Number(),
  },
  { additionalProperties: false },
)
export type Assignment = Static<typeof AssignmentSchema>

export const ReplanSchema = Type.Object(
  {
    /** Run second from which `steps` replace this agent's plan. */
    fromS: Type.Integer({ minimum: 0 }),
    steps: Type.Array(PlannedStepSchema, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
)
export type Replan = Static<typeof ReplanSchema>

export const AgentReportSchema = Type.Object(
  {
    runId: Type.String({ maxLength: 100 }),
    windows: Type.Array(WindowReportSchema, { maxItems: 600 }),
    /** Present once the agent's load for the run has ended; no window follows it. */
    done: Type.Optional(Type.Object({ aborted: Type.Boolean(), peakConnections: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
)
export type AgentReport = Static<typeof AgentReportSchema>
