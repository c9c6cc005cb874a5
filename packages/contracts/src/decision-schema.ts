import { Type, type Static } from '#typebox'
import { DurationText } from './duration-text.js'

/**
 * The `decision:` section of a scenario: windowed guards and the step machine that turns their
 * verdicts into ADVANCE, HOLD or ROLLBACK. Semantics in docs/decisions.md.
 */
export const guardKinds = ['abort', 'slo', 'baseline', 'leak'] as const
export type GuardKind = (typeof guardKinds)[number]

const Count = (description: string, maximum = 1000) => Type.Integer({ minimum: 1, maximum, description })

export const GuardSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$',
      description: 'Unique within the scenario; decisions and hooks name it.',
    }),
    kind: Type.Union(
      guardKinds.map((k) => Type.Literal(k)),
      {
        description:
          'abort: the first FAIL window rolls back. slo: M of the last N windows FAIL. baseline: compared ' +
          'with the pre-fault steady state or past passing runs. leak: a target metric (targetMetrics) that ' +
          'grows and does not come back after the load.',
      },
    ),
    require: Type.String({
      minLength: 1,
      description:
        'The healthy condition, e.g. "p99 < 800ms", "error_rate < 0.5%", "success_rate > 99%"; for baseline ' +
        '"success_rate drop < 2pp", "p99 rise < 20%"; for leak "process_resident_memory_bytes growth < 20%".',
    }),
    minSamples: Type.Optional(Count('Requests an evaluation window must hold (default 100).', 1_000_000)),
    maxWindow: Type.Optional(DurationText),
    trip: Type.Optional(
      Type.Object(
        { m: Count('FAIL windows...'), n: Count('...of the last n windows trip the guard.') },
        { additionalProperties: false },
      ),
    ),
    clear: Type.Optional(
      Type.Object(
        {
          k: Count('Consecutive PASS windows, at the tighter limit, that clear a tripped guard (default 2).'),
          require: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'The tighter healthy condition (default: the limit moved 10% toward healthy).',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    vs: Type.Optional(
      Type.Union([Type.Literal('prefault'), Type.Literal('runs')], {
        description: 'baseline: the same run before its first fault, or the last passing runs of this scenario.',
      }),
    ),
    runs: Type.Optional(Count('baseline vs runs: how many past passing runs (default 5).', 100)),
    dryRun: Type.Optional(Type.Boolean({ description: 'Record what the guard would have done and act on nothing.' })),
  },
  { additionalProperties: false },
)
export type GuardDocument = Static<typeof GuardSchema>

export const DecisionSchema = Type.Object(
  {
    guards: Type.Optional(Type.Array(GuardSchema, { minItems: 1, maxItems: 20 })),
    insufficient: Type.Optional(
      Type.Union([Type.Literal('pass'), Type.Literal('fail')], {
        description:
          'What a threshold whose point estimate meets its limit but whose 95% bound cannot vouch for it does ' +
          'to the run: pass (default, with a warning) or fail (as `gauntlet run --strict`), so a CI gate can ' +
          'refuse an unproven pass.',
      }),
    ),
    step: Type.Optional(
      Type.Object(
        {
          warmup: Type.Optional(DurationText),
          promoteAfter: Type.Optional(
            Count('Consecutive PASS windows every guard needs before a step advances (default 1).'),
          ),
          maxHold: Type.Optional(DurationText),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Windowed guards and step gating (advance, hold or roll back, with the evidence recorded), and what an ' +
      'insufficient result does.',
  },
)
export type DecisionDocument = Static<typeof DecisionSchema>

export const TargetMetricsSchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        "The target's Prometheus text endpoint, scraped before the load, every second during it, and through " +
        'the cooldown.',
    }),
    series: Type.Array(Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$' }), {
      minItems: 1,
      maxItems: 20,
      description:
        'Metric names to keep (summed over their label sets), e.g. process_resident_memory_bytes, go_goroutines.',
    }),
    cooldown: Type.Optional(DurationText),
  },
  { additionalProperties: false, description: "The target's own health, stored with the run; leak guards judge it." },
)
export type TargetMetricsDocument = Static<typeof TargetMetricsSchema>
