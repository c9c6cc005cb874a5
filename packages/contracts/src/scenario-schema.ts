import { Type, type Static } from '@sinclair/typebox'

/**
 * The single source of the scenario format: the YAML loader validates against it, and
 * `gauntlet schema` publishes it as JSON Schema for editors. Semantic rules that JSON Schema cannot
 * express (ramp arithmetic, threshold grammar, whole-second durations) live in the controller's
 * scenario loader and are reported in the same problem format.
 */

import { DurationText, withHint } from './duration-text.js'
import { DecisionSchema, TargetMetricsSchema } from './decision-schema.js'
import { FaultDocumentSchema } from './fault-schema.js'
import { HooksSchema } from './hook-schema.js'
import { StatusListSchema } from './status-list.js'

export const MaxRps = 1_000_000

/** Bounds of target.expect: a check's cost per response stays small. */
export const maxBodyContainsChars = 4096
export const maxExpectedHeaders = 20

const Rate = Type.Number({
  exclusiveMinimum: 0,
  maximum: MaxRps,
  description: 'Requests per second (open model: sends are scheduled at this rate whatever the latency).',
})

export const HttpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export const TargetSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'http:// or https:// URL of the endpoint under load.' }),
    method: Type.Optional(
      Type.Union(
        HttpMethods.map((m) => Type.Literal(m)),
        { default: 'GET' },
      ),
    ),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Request headers.' })),
    body: Type.Optional(Type.String({ maxLength: 1_048_576, description: 'Request body, sent as is.' })),
    timeout: Type.Optional(DurationText),
    expect: Type.Optional(
      Type.Object(
        {
          status: Type.Optional(StatusListSchema),
          bodyContains: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: maxBodyContainsChars,
              description:
                'Text the response body must contain (its bytes as received, compared exactly). A response with ' +
                'a successful status without it is an error of class check.',
            }),
          ),
          header: Type.Optional(
            Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ maxLength: 4096 }), {
              maxProperties: maxExpectedHeaders,
              description:
                'Response headers that must be present, each with a value containing the given text ("" for ' +
                'any value); names are case-insensitive. A response with a successful status that lacks one ' +
                'is an error of class check.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'What a successful response is. Without it: any 2xx; a 3xx, 4xx or 5xx is an error of its class.',
        },
      ),
    ),
    followRedirects: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Follow 301, 302, 303, 307 and 308 redirects to the same origin (scheme, host, port) on the same ' +
          'connection, at most 5 hops; the final response decides. A redirect to another origin, or a sixth ' +
          'hop, is an error of class check. Without it, a redirect is an error of its status.',
      }),
    ),
  },
  { additionalProperties: false, description: 'The HTTP request every send makes.' },
)

export const RampSchema = Type.Object(
  {
    from: Rate,
    to: Rate,
    step: Type.Number({ exclusiveMinimum: 0, description: 'Rate change between steps (rps).' }),
    every: DurationText,
  },
  { additionalProperties: false, description: 'Steps from `from` to `to` rps, `step` apart, each lasting `every`.' },
)

export const StepSchema = Type.Object({ rps: Rate, duration: DurationText }, { additionalProperties: false })

export const LoadSchema = Type.Object(
  {
    ramp: Type.Optional(RampSchema),
    steps: Type.Optional(Type.Array(StepSchema, { minItems: 1, maxItems: 1000 })),
    warmup: Type.Optional(DurationText),
    connections: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        description: 'Fixed connection count. Omit to grow connections on demand (rate x latency).',
      }),
    ),
    maxConnections: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, description: 'Upper bound when connections grow on demand.' }),
    ),
  },
  { additionalProperties: false, description: 'Either `ramp` or `steps`.' },
)

export const ScenarioSchema = Type.Object(
  {
    name: withHint(
      Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$' }),
      'expected a name of letters, digits, dot, dash or underscore (at most 100)',
    ),
    description: Type.Optional(Type.String()),
    target: TargetSchema,
    load: LoadSchema,
    thresholds: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Per-step pass conditions, e.g. "p99 < 800ms", "error_rate < 0.5%".',
      }),
    ),
    onThresholdFail: Type.Optional(
      Type.Union([Type.Literal('stop'), Type.Literal('continue')], {
        default: 'stop',
        description: 'stop: the first failing step ends the run; continue: run every step anyway.',
      }),
    ),
    faults: Type.Optional(
      Type.Array(FaultDocumentSchema, {
        maxItems: 50,
        description:
          'Network faults injected into Docker containers during the run; each reverted at its end, whatever happens.',
      }),
    ),
    decision: Type.Optional(DecisionSchema),
    targetMetrics: Type.Optional(TargetMetricsSchema),
    hooks: Type.Optional(HooksSchema),
    onAgentLoss: Type.Optional(
      Type.Union([Type.Literal('redistribute'), Type.Literal('abort')], {
        default: 'redistribute',
        description:
          'When a remote agent stops heartbeating for 3 s mid-run: redistribute moves its share to the other ' +
          'agents from the next second that can still change (the run is marked degraded); abort stops the ' +
          'run.',
      }),
    ),
  },
  { additionalProperties: false, $id: 'https://gauntlet.dev/schemas/scenario.json', title: 'Gauntlet scenario' },
)

export type ScenarioDocument = Static<typeof ScenarioSchema>
