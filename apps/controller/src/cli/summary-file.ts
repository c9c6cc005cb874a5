import { GauntletError, type RunSummary } from '@gauntlet/contracts'
import { Type, type TObject, type TProperties } from '@gauntlet/contracts/typebox'
import { Value } from '@sinclair/typebox/value'
import { readFile } from 'node:fs/promises'

/** An object with at least these fields (a summary has more; a newer version may add some). */
const Open = <T extends TProperties>(properties: T): TObject<T> =>
  Type.Object(properties, { additionalProperties: true })
const Time = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}' })
const Count = Type.Number({ minimum: 0 })
const Strings = Type.Array(Type.String())

/** What a report reads of a summary file, checked before any of it is used. */
const SummaryFileSchema = Open({
  runId: Type.String({ minLength: 1 }),
  status: Type.String(),
  scenario: Type.String(),
  target: Type.String(),
  verdict: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('error')]),
  capacityRps: Type.Union([Count, Type.Null()]),
  reasons: Strings,
  warnings: Strings,
  startedAt: Time,
  finishedAt: Time,
  steps: Type.Array(
    Open({
      index: Type.Integer({ minimum: 0 }),
      plannedRps: Count,
      achievedRps: Count,
      durationS: Count,
      warmupS: Count,
      verdict: Type.String(),
      thresholds: Type.Array(Open({ threshold: Type.String(), metric: Type.String(), pass: Type.Boolean() })),
    }),
  ),
  decisions: Type.Optional(
    Type.Array(
      Open({
        step: Type.Integer({ minimum: 0 }),
        guard: Type.String(),
        verdict: Type.String(),
        action: Type.String(),
        evidence: Open({ n: Count, windowStart: Type.Number(), windowEnd: Type.Number() }),
      }),
    ),
  ),
  faults: Type.Optional(
    Type.Array(
      Open({
        id: Type.String(),
        type: Type.String(),
        mechanism: Type.String(),
        targets: Strings,
        plannedApplyAt: Time,
        plannedRevertAt: Time,
        appliedAt: Type.Union([Time, Type.Null()]),
        revertedAt: Type.Union([Time, Type.Null()]),
      }),
    ),
  ),
  hooks: Type.Optional(Type.Array(Open({ event: Type.String(), url: Type.String(), attempts: Type.Array(Open({})) }))),
})

/** A summary file written by `gauntlet run --summary`; anything else is a usage error naming the field. */
export async function readSummaryFile(file: string): Promise<RunSummary> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new GauntletError(
      'not_found',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new GauntletError('usage', `${file} is not JSON (expected a run summary written by gauntlet run --summary)`)
  }
  const problem = Value.Errors(SummaryFileSchema, value).First()
  if (problem)
    throw new GauntletError(
      'usage',
      `${file} is not a run summary: ${problem.path || '/'} ${problem.message} (expected the JSON of gauntlet run --summary)`,
    )
  return value as RunSummary
}
