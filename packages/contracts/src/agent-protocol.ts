import { Type, type Static } from '#typebox'
import { FaultSpecSchema } from './fault-schema.js'
import { PlannedStepSchema } from './plan-schema.js'
import { maxBodyContainsChars, maxExpectedHeaders, maxPemChars } from './scenario-schema.js'
import { StatusListSchema } from './status-list-schema.js'
import { maxRequestNames } from './window-limits.js'
import { WindowReportSchema } from './window-schema.js'

/**
 * What controller and agents say to each other over HTTP. Every request either way is signed with
 * the shared GAUNTLET_AGENT_SECRET (HMAC headers, see @gauntlet/http signed-request.ts); the secret
 * itself never travels.
 *
 *   agent -> controller  PUT  /api/agents/:name           Heartbeat (also registers) -> HeartbeatReply
 *   agent -> controller  POST /api/agents/:name/reports   AgentReport (windows, and the end of a run)
 *   controller -> agent  POST   /assignments              Assignment
 *   controller -> agent  PUT    /assignments/:runId/plan   Replan
 *   controller -> agent  POST   /assignments/:runId/reconnect  move the run's connections to new sockets
 *   controller -> agent  DELETE /assignments/:runId        stop that run's load
 *
 * Faults, on agents started with --docker (fault-capable; their heartbeat carries `faults`, a bounded
 * inventory of their Docker engine). The controller itself needs no Docker access: it routes each fault
 * to an agent whose engine holds the target. An agent without --docker answers these with 409.
 *
 *   controller -> agent  POST   /faults/prepare   FaultPrepareRequest -> FaultPrepared (`auto` decided,
 *                                                  the containers it would act on), or a problem:
 *                                                  404 no such container here, 409/422 cannot run here
 *                                                  (`check: true`: a placement check, nothing started)
 *   controller -> agent  POST   /faults           FaultApplyRequest -> 201 AgentFaultReport
 *   controller -> agent  POST   /faults/:id/bypass  first half of a revert (proxy delay): answers
 *                                                  {draining: true} once new connections bypass the
 *                                                  proxy, {draining: false} when the revert is done; the
 *                                                  proxy drains on the DELETE that follows (or after 5 s)
 *   controller -> agent  DELETE /faults/:id       revert now, read back -> AgentFaultReport (404 unknown id)
 *   controller -> agent  GET    /faults           AgentFaultReport[] (faults in effect on this agent's engine)
 *
 * A heartbeat's reply names the runs that have faults on that agent (`faultRuns`): the agent reverts
 * (and its engine's reconcile stops the holders of) faults of any other run, once the reply is newer
 * than the fault. Ad hoc faults (no run) end at their own expiry.
 */

export const agentNamePattern = '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$'

/** How often agents heartbeat, and how long the controller waits before declaring one lost. */
export const heartbeatIntervalMs = 1_000
export const agentLostAfterMs = 3_000
/** How long an agent keeps loading without hearing from its controller. */
export const controllerLostAfterMs = 10_000

/** Runs a heartbeat may list: far more than a controller's concurrent runs, far less than a flood. */
export const maxHeartbeatRuns = 100
/** Body limit of a heartbeat: its largest legal encoding is about 13 KB, 46 KB with a fault inventory. */
export const maxHeartbeatBytes = 64 * 1024

/**
 * Compose services and labels a heartbeat may list: enough to see where a target lives. Printable ASCII
 * without quote or backslash (JSON never escapes it), so their largest encoding is 2 × 100 × 163 bytes,
 * about 33 KB: with the rest of a heartbeat (about 13 KB) within maxHeartbeatBytes.
 */
export const maxInventoryNames = 100
export const inventoryNamePattern = '^[ !#-\\[\\]-~]{1,160}$'
const InventoryName = Type.String({ pattern: inventoryNamePattern })

/** A fault-capable agent's Docker engine, as its heartbeat describes it (refreshed every few seconds). */
export const FaultInventorySchema = Type.Object(
  {
    injector: Type.Union([Type.Literal('auto'), Type.Literal('holder'), Type.Literal('host')], {
      description: 'How this agent holds faults (--injector): holder containers, host processes, or auto.',
    }),
    containers: Type.Integer({ minimum: 0, description: 'Running containers on its engine.' }),
    services: Type.Array(InventoryName, {
      maxItems: maxInventoryNames,
      description: 'Compose services (label com.docker.compose.service) of its running containers, sorted.',
    }),
    labels: Type.Optional(
      Type.Array(InventoryName, {
        maxItems: maxInventoryNames,
        description: 'Other labels (key=value) of its running containers, sorted; Docker and Gauntlet ones left out.',
      }),
    ),
    truncated: Type.Optional(Type.Boolean({ description: 'More services or labels exist than are listed.' })),
    error: Type.Optional(
      Type.String({ maxLength: 300, description: 'Why the engine could not be listed (its last attempt).' }),
    ),
  },
  { additionalProperties: false },
)
export type FaultInventory = Static<typeof FaultInventorySchema>

export const HeartbeatSchema = Type.Object(
  {
    url: Type.String({ format: 'uri', maxLength: 2048, description: 'Where the controller reaches this agent.' }),
    capacityRps: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000,
      description: 'Requests per second this agent offers; rates are split in proportion.',
    }),
    runs: Type.Array(Type.String({ maxLength: 100 }), {
      maxItems: maxHeartbeatRuns,
      description: 'Runs this agent is loading now.',
    }),
    version: Type.String({ maxLength: 50 }),
    clock: Type.Optional(
      Type.Object(
        {
          offsetMs: Type.Number({
            description: "Controller clock minus this agent's clock, from its best heartbeat round trip.",
          }),
          uncertaintyMs: Type.Number({
            minimum: 0,
            description: 'Half that round trip: the offset is right to within this.',
          }),
        },
        {
          additionalProperties: false,
          description: "How well this agent knows the controller's clock (its windows are timed on it).",
        },
      ),
    ),
    faults: Type.Optional(FaultInventorySchema),
  },
  { additionalProperties: false },
)
export type Heartbeat = Static<typeof HeartbeatSchema>

export const HeartbeatReplySchema = Type.Object({
  /** The controller's clock (epoch ms) when it answered: the agent estimates its clock offset from it. */
  controllerTime: Type.Number(),
  /** Runs the controller expects this agent to be loading; anything else it is loading must stop. */
  runs: Type.Array(Type.String()),
  /**
   * Runs in progress that have faults on this agent; a fault of any other run (applied before the
   * heartbeat left) is no longer wanted. Absent from controllers that route no faults.
   */
  faultRuns: Type.Optional(Type.Array(Type.String())),
})
export type HeartbeatReply = Static<typeof HeartbeatReplySchema>

/** One request of a mix as agents get it. */
export const MixRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' }),
    weight: Type.Integer({ minimum: 1, maximum: 10_000 }),
    method: Type.String({ maxLength: 20 }),
    path: Type.String({ minLength: 1, maxLength: 65_536 }),
    headers: Type.Record(Type.String(), Type.String()),
    body: Type.Optional(Type.String({ maxLength: 16 * 1024 * 1024 })),
    expectStatus: Type.Optional(StatusListSchema),
    expectBodyContains: Type.Optional(Type.String({ minLength: 1, maxLength: maxBodyContainsChars })),
    expectHeader: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 4096 }), {
        maxProperties: maxExpectedHeaders,
      }),
    ),
  },
  { additionalProperties: false },
)

/** A data set's rows as an agent gets them. */
export const DataShareSchema = Type.Object(
  {
    columns: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 100 }),
    rows: Type.Array(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 }), { maxItems: 1_000_000 }),
    order: Type.Union([Type.Literal('sequential'), Type.Literal('random'), Type.Literal('unique')]),
  },
  { additionalProperties: false },
)

/** Largest assignment body: a run's data sets (at most 32 MiB of text) travel in it. */
export const maxAssignmentBytes = 64 * 1024 * 1024

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
        /**
         * TLS for an https target, PEM contents (never paths: the agent reads no files of the scenario).
         * `key` is the client certificate's private key: a secret, sent only to the agents that load.
         */
        tls: Type.Optional(
          Type.Object(
            {
              ca: Type.Optional(Type.String({ maxLength: maxPemChars })),
              cert: Type.Optional(Type.String({ maxLength: maxPemChars })),
              key: Type.Optional(Type.String({ maxLength: maxPemChars })),
              serverName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
              insecure: Type.Boolean(),
            },
            { additionalProperties: false },
          ),
        ),
        /** The statuses that count as success (scenario target.expect.status, as written); absent, any 2xx. */
        expectStatus: Type.Optional(StatusListSchema),
        /** scenario target.expect.bodyContains */
        expectBodyContains: Type.Optional(Type.String({ minLength: 1, maxLength: maxBodyContainsChars })),
        /** scenario target.expect.header */
        expectHeader: Type.Optional(
          Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 4096 }), {
            maxProperties: maxExpectedHeaders,
          }),
        ),
        followRedirects: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    /**
     * A weighted mix (scenario requests:), env values in, templates as written: each send makes one, and
     * each request's outcomes are counted apart. Absent: every send makes the target's request.
     */
    mix: Type.Optional(Type.Array(MixRequestSchema, { minItems: 1, maxItems: maxRequestNames })),
    /** Count each request of the mix apart in the windows (the scenario has requests:). */
    perRequest: Type.Optional(Type.Boolean()),
    /** The data sets the templates read: this agent's share of a unique one, the whole of the others. */
    data: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' }), DataShareSchema)),
    /** This agent's place among the run's agents: `{{ seq }}` is unique across them. */
    slot: Type.Optional(
      Type.Object(
        { index: Type.Integer({ minimum: 0 }), count: Type.Integer({ minimum: 1, maximum: 100_000 }) },
        { additionalProperties: false },
      ),
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
export type MixRequestWire = Static<typeof MixRequestSchema>
/** TLS settings as they travel and are used: PEM contents, never paths. */
export type TargetTls = NonNullable<Assignment['target']['tls']>

export const ReplanSchema = Type.Object(
  {
    /** Run second from which `steps` replace this agent's plan. */
    fromS: Type.Integer({ minimum: 0 }),
    steps: Type.Array(PlannedStepSchema, { maxItems: 10_000 }),
  },
  { additionalProperties: false },
)
export type Replan = Static<typeof ReplanSchema>

/** Windows per report: a backlog goes out in several bounded requests. */
export const maxWindowsPerReport = 20
/**
 * The longest encoded latency histogram (microseconds up to 1 h, 3 significant digits): 23,552
 * buckets, each count at most 9 bytes in the encoding, that deflate cannot shrink when random,
 * then base64 (4/3): about 283,000 characters. test/unit/agent-report-limit.test.ts checks it.
 */
export const maxEncodedHistogramChars = 290_000
/**
 * The largest legal report, as JSON: per window the histogram, every 3-digit status code with a
 * 16-digit count, and the other fields; plus the envelope. The body limit of reports: a report
 * cannot be larger, so nothing larger is ever read.
 */
export const maxAgentReportBytes = maxWindowsPerReport * (maxEncodedHistogramChars + 1000 * 24 + 2_000) + 2_000

/**
 * A window as an agent reports it: the merged-only fields (agents, missingAgents, faults, skewMs)
 * are the controller's, and the histogram is bounded by its largest legal encoding.
 */
export const AgentWindowSchema = Type.Object(
  {
    ...Type.Omit(WindowReportSchema, ['agents', 'missingAgents', 'faults', 'skewMs', 'latency']).properties,
    latency: Type.String({
      maxLength: maxEncodedHistogramChars,
      description: WindowReportSchema.properties.latency.description,
    }),
  },
  { additionalProperties: false },
)

/** The longest reason an agent gives for its load failing (longer ones are cut by the agent). */
export const maxLoadFailureChars = 300

export const AgentReportSchema = Type.Object(
  {
    runId: Type.String({ maxLength: 100 }),
    windows: Type.Array(AgentWindowSchema, { maxItems: maxWindowsPerReport }),
    /** Present once the agent's load for the run has ended; no window follows it. */
    done: Type.Optional(
      Type.Object(
        {
          aborted: Type.Boolean(),
          peakConnections: Type.Integer({ minimum: 0 }),
          /** Why the load stopped itself (a unique data set ran out): the whole run stops, for this reason. */
          stoppedBy: Type.Optional(Type.String({ maxLength: 200 })),
          /**
           * Why the agent's load failed (a load thread that failed, or was terminated when stuck): the run
           * names it as the reason this agent was lost.
           */
          failure: Type.Optional(Type.String({ maxLength: maxLoadFailureChars })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)
export type AgentReport = Static<typeof AgentReportSchema>

// ---- faults (agents started with --docker)

export const FaultPrepareRequestSchema = Type.Object(
  {
    spec: FaultSpecSchema,
    /** A placement check only: resolve the targets and preflight, start nothing (no warm holders). */
    check: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
export type FaultPrepareRequest = Static<typeof FaultPrepareRequestSchema>

/** At most this many target names travel in an answer: enough to name them, bounded. */
export const maxFaultTargets = 100
const TargetNames = Type.Array(Type.String({ maxLength: 256 }), { maxItems: maxFaultTargets })

export const FaultPreparedSchema = Type.Object(
  {
    spec: FaultSpecSchema,
    /** The running containers of this agent's engine the fault would act on now. */
    targets: TargetNames,
  },
  { additionalProperties: false },
)
export type FaultPrepared = Static<typeof FaultPreparedSchema>

export const FaultApplyRequestSchema = Type.Object(
  {
    spec: FaultSpecSchema,
    /** When the fault ends on its own (epoch ms, the controller's clock as the agent knows it). */
    untilEpochMs: Type.Number({ minimum: 0 }),
    /** The run it belongs to; absent for an ad hoc fault, which ends only at its own expiry. */
    runId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' })),
  },
  { additionalProperties: false },
)
export type FaultApplyRequest = Static<typeof FaultApplyRequestSchema>

const Note = Type.String({ maxLength: 2_000 })
/** A fault as an agent reports it (the FaultReport of @gauntlet/faults), bounded: the controller checks it. */
export const AgentFaultReportSchema = Type.Object({
  id: Type.String({ maxLength: 100 }),
  type: Type.String({ maxLength: 40 }),
  mechanism: Type.String({ maxLength: 40 }),
  targets: TargetNames,
  appliedAt: Type.String({ maxLength: 40 }),
  untilAt: Type.String({ maxLength: 40 }),
  revertedAt: Type.Union([Type.String({ maxLength: 40 }), Type.Null()]),
  revertVerified: Type.Boolean(),
  notes: Type.Array(Note, { maxItems: 50 }),
  /** Which ran it: a holder container or host processes (absent from engines that do not say). */
  injector: Type.Optional(Type.Union([Type.Literal('holder'), Type.Literal('host')])),
})
export type AgentFaultReport = Static<typeof AgentFaultReportSchema>

/** The largest answer an agent's fault route may give (a list of at most this many faults). */
export const maxAgentFaults = 100
export const maxFaultAnswerBytes = 1024 * 1024
