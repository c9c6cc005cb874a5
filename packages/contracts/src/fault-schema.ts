import { Type, type Static } from '#typebox'
import {
  containerHint,
  containerNamePattern,
  composeServicePattern,
  labelHint,
  labelSelectorPattern,
  maxContainerRefLength,
  maxLabelLength,
  maxServiceLength,
  serviceHint,
} from './docker-names.js'
import { DurationText, withHint } from './duration-text.js'

export * from './docker-names.js'

/**
 * Network faults, as written in a scenario's `faults:` or POSTed to /api/faults (the document form,
 * durations with units), and as an agent receives them (FaultSpec: milliseconds, bits per second,
 * the mechanism decided). Which parameters apply to which `type` is each type's unit's to say
 * (packages/faults/src/types): the loader reports a parameter that does not apply as an error, like an
 * unknown key. The properties here are the union of the units' parameters, and `faultTypes` names
 * exactly the registered units (test/unit/fault-registry.test.ts holds both equal).
 */

export const faultTypes = ['delay', 'loss', 'bandwidth', 'partition', 'reset'] as const
export type FaultType = (typeof faultTypes)[number]

export const FaultTargetSchema = Type.Object(
  {
    // Docker's grammar (docker-names.ts): a name like "../images/x" would otherwise reach other Docker API paths.
    container: Type.Optional(
      withHint(
        Type.String({
          pattern: containerNamePattern,
          maxLength: maxContainerRefLength,
          description: 'Container name or id.',
        }),
        containerHint,
      ),
    ),
    label: Type.Optional(
      withHint(
        Type.String({
          pattern: labelSelectorPattern,
          maxLength: maxLabelLength,
          description: 'A Docker label, key=value.',
        }),
        labelHint,
      ),
    ),
    service: Type.Optional(
      withHint(
        Type.String({
          pattern: composeServicePattern,
          maxLength: maxServiceLength,
          description: 'A docker compose service name.',
        }),
        serviceHint,
      ),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('all'), Type.Literal('one'), Type.Literal('percent')], {
        default: 'all',
        description: 'Which of the matching containers: all, one (chosen at random), or `percent` of them.',
      }),
    ),
    percent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
  },
  { additionalProperties: false, description: 'Exactly one of container, label or service.' },
)
export type FaultTarget = Static<typeof FaultTargetSchema>

const Percent = Type.Number({ minimum: 0, maximum: 100 })

export const FaultDocumentSchema = Type.Object(
  {
    type: Type.Union(faultTypes.map((t) => Type.Literal(t))),
    target: FaultTargetSchema,
    mode: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('netem'), Type.Literal('proxy')], {
        description:
          'delay only: netem (kernel), proxy (user-space, inbound TCP on `port`), auto (netem where the ' +
          'kernel has it, else proxy).',
      }),
    ),
    latency: Type.Optional(DurationText),
    jitter: Type.Optional(DurationText),
    correlation: Type.Optional(Percent),
    distribution: Type.Optional(
      Type.Union([
        Type.Literal('uniform'),
        Type.Literal('normal'),
        Type.Literal('pareto'),
        Type.Literal('paretonormal'),
      ]),
    ),
    percent: Type.Optional(Percent),
    rate: Type.Optional(
      Type.String({
        pattern: '^[0-9]+(\\.[0-9]+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$',
        description: 'tc rate: 1mbit, 500kbit, 2mbps (bytes).',
      }),
    ),
    burst: Type.Optional(
      Type.String({ pattern: '^[0-9]+(b|kb|mb|kbit|mbit)?$', description: 'tbf bucket size: 32kbit, 64kb.' }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]+(b|kb|mb)?$', description: 'tbf queue size in bytes: 10kb.' })),
    direction: Type.Optional(Type.Union([Type.Literal('ingress'), Type.Literal('egress'), Type.Literal('both')])),
    peers: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 64,
        description: 'partition only: cut only these addresses or CIDRs.',
      }),
    ),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: 'The service port: what proxy delay and reset act on, or a scope for the others.',
      }),
    ),
    peer: Type.Optional(
      Type.String({ maxLength: 64, description: 'Scope the fault to traffic with this address or CIDR.' }),
    ),
    at: Type.Optional(DurationText),
    atStep: Type.Optional(Type.Integer({ minimum: 1 })),
    duration: DurationText,
  },
  { additionalProperties: false },
)
export type FaultDocument = Static<typeof FaultDocumentSchema>

/** A fault as an agent applies it: every unit resolved, the mechanism decided. */
export const FaultSpecSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }),
    type: Type.Union(faultTypes.map((t) => Type.Literal(t))),
    target: FaultTargetSchema,
    /** delay: netem or proxy; loss: netem or iptables; bandwidth: tbf; partition, reset: iptables. */
    mechanism: Type.Union([
      Type.Literal('netem'),
      Type.Literal('proxy'),
      Type.Literal('iptables'),
      Type.Literal('tbf'),
      Type.Literal('auto'),
    ]),
    latencyMs: Type.Optional(Type.Number({ minimum: 0 })),
    jitterMs: Type.Optional(Type.Number({ minimum: 0 })),
    correlation: Type.Optional(Percent),
    distribution: Type.Optional(Type.String()),
    percent: Type.Optional(Percent),
    rateBitsPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    burstBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    limitBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    direction: Type.Optional(Type.Union([Type.Literal('ingress'), Type.Literal('egress'), Type.Literal('both')])),
    peers: Type.Optional(Type.Array(Type.String())),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    peer: Type.Optional(Type.String()),
    /** At most 24 h, the fault loader's own cap: a spec arriving by any route is held to it. */
    durationMs: Type.Integer({ minimum: 1, maximum: 24 * 3_600_000 }),
  },
  { additionalProperties: false },
)
export type FaultSpec = Static<typeof FaultSpecSchema>
