import { Type, type Static } from '#typebox'

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
import { StatusListSchema } from './status-list-schema.js'

export const MaxRps = 1_000_000
/** A PEM (a CA bundle, a certificate chain, a key) is at most this long, inline or read from a file. */
export const maxPemChars = 262_144

/** Bounds of target.expect: a check's cost per response stays small. */
export const maxBodyContainsChars = 4096
export const maxExpectedHeaders = 20

const Rate = Type.Number({
  exclusiveMinimum: 0,
  maximum: MaxRps,
  description: 'Requests per second (open model: sends are scheduled at this rate whatever the latency).',
})

export const HttpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

const PemOrFile = (what: string): ReturnType<typeof Type.String> =>
  Type.String({
    minLength: 1,
    maxLength: maxPemChars,
    description:
      `${what}: inline PEM (text starting with -----BEGIN) or a file path. A path is relative to the scenario ` +
      "file's directory (CLI), or under the controller's --files-dir (REST, stored scenarios, schedules).",
  })

/** How an https:// target's certificate is checked; it is always checked unless `insecure: true`. */
export const TargetTlsSchema = Type.Object(
  {
    ca: Type.Optional(
      PemOrFile('CA certificate(s) trusted in addition to the system store (for a private or self-signed CA)'),
    ),
    cert: Type.Optional(PemOrFile('Client certificate for mutual TLS (needs `key`)')),
    key: Type.Optional(
      PemOrFile('Private key of the client certificate (needs `cert`). A secret: shown only as «redacted»'),
    ),
    serverName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: "SNI name sent and the name the certificate must carry (default: the URL's host name).",
      }),
    ),
    insecure: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: do not verify the certificate at all (a warning is printed and kept in the summary).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'TLS for https:// targets: verified against the system store plus `ca` by default.',
  },
)
export type TargetTlsDocument = Static<typeof TargetTlsSchema>

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
    tls: Type.Optional(TargetTlsSchema),
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

/** A request of a weighted mix: a path on the target, and what sets it apart (method, headers, body, checks). */
export const RequestSchema = Type.Object(
  {
    name: withHint(
      Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' }),
      'expected a name of letters, digits, dot, dash or underscore (at most 64)',
    ),
    weight: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        default: 1,
        description:
          'Share of the sends (weight / sum of weights), exact in every second: a smooth weighted round-robin, ' +
          'not a random draw.',
      }),
    ),
    method: TargetSchema.properties.method,
    path: Type.String({
      minLength: 1,
      maxLength: 8192,
      description:
        'Path and query, starting with "/", appended to the path of target.url; may hold templates ' +
        '({{ uuid }}, {{ seq }}, {{ randomInt a b }}, {{ now }}, {{ data.<set>.<column> }}; values are ' +
        'percent-encoded).',
    }),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: "Headers of this request, over target.headers (a name set in both takes this request's value).",
      }),
    ),
    body: Type.Optional(Type.String({ maxLength: 1_048_576, description: 'Request body; may hold templates.' })),
    bodyFile: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'A file whose text is the body (read at run start; may hold templates). Not with body.',
      }),
    ),
    expect: TargetSchema.properties.expect,
  },
  { additionalProperties: false },
)

/** A data set: rows for `{{ data.<set>.<column> }}`, one row per send. */
export const DataSetSchema = Type.Object(
  {
    file: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        'CSV with a header row (.csv), or JSON lines (.jsonl, .ndjson), read at run start: relative to the ' +
        "scenario file from the CLI, under the controller's --files-dir otherwise.",
    }),
    order: Type.Optional(
      Type.Union([Type.Literal('sequential'), Type.Literal('random'), Type.Literal('unique')], {
        default: 'sequential',
        description:
          'sequential: in file order, wrapping; random: a uniform draw per send; unique: each row once (split ' +
          'across agents), and the run stops when they run out.',
      }),
    ),
  },
  { additionalProperties: false },
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
    requests: Type.Optional(
      Type.Array(RequestSchema, {
        minItems: 1,
        maxItems: 50,
        description:
          'A weighted mix of requests on target.url (which then gives scheme, host, port and a base path). ' +
          'Each request has its own statistics (select them with {request=<name>} in thresholds).',
      }),
    ),
    data: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$' }), DataSetSchema, {
        maxProperties: 20,
        description: 'Data sets the request templates read, by name.',
      }),
    ),
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
