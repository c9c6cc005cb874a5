import { Type, type Static } from '#typebox'

/** The wire and storage shape of a plan's entries; the arithmetic on them is in plan.ts. */
export const PlannedStepSchema = Type.Object(
  {
    rps: Type.Number({ minimum: 0, maximum: 1_000_000 }),
    durationS: Type.Integer({ minimum: 1, maximum: 86_400 }),
    step: Type.Integer({ minimum: 0, description: 'The scenario step this entry belongs to.' }),
  },
  { additionalProperties: false },
)
/**
 * One entry of a plan: a rate for whole seconds, tagged with the scenario step it belongs to (a
 * scenario step can be several entries, when its rate changes mid-step or a gate holds it).
 */
export type PlannedStep = Static<typeof PlannedStepSchema>
