import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { GauntletError } from '@gauntlet/contracts'
import { problemOf } from '@gauntlet/http'
import { Type } from '@gauntlet/contracts/typebox'
import type { ScenarioService } from '../scenario/scenario-service.js'
import { NoContent, problemResponses, ScenarioListItemSchema, StoredScenarioSchema } from './api-schemas.js'

const namePattern = '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$'
const NameParams = Type.Object({ name: Type.String({ pattern: namePattern }) })
const PutBody = Type.Object({ yaml: Type.String({ minLength: 1 }) }, { additionalProperties: false })
const ValidateBody = Type.Object(
  {
    yaml: Type.String({ minLength: 1 }),
    name: Type.Optional(
      Type.String({
        pattern: namePattern,
        description: 'The name it would be stored under: the scenario must carry it, as PUT requires.',
      }),
    ),
  },
  { additionalProperties: false },
)
const ScenarioCheckSchema = Type.Object({
  valid: Type.Literal(true),
  name: Type.String(),
  steps: Type.Integer({ description: 'Planned steps (a ramp expanded).' }),
  durationS: Type.Number({ description: 'Warmup plus every step: how long its load lasts.' }),
  maxRps: Type.Number(),
  faults: Type.Integer(),
  thresholds: Type.Integer(),
})

/** /api/scenarios: named scenarios, validated on the way in with the loader `gauntlet validate` uses. */
export const scenariosRoutes: FastifyPluginCallbackTypebox<{ scenarios: ScenarioService }> = (
  app,
  { scenarios },
  done,
) => {
  const tags = ['scenarios']

  app.get(
    '/api/scenarios',
    {
      schema: {
        tags,
        summary: 'Stored scenarios, by name',
        response: { 200: Type.Array(ScenarioListItemSchema), ...problemResponses },
      },
    },
    () => scenarios.list(),
  )

  app.get(
    '/api/scenarios/:name',
    {
      schema: {
        tags,
        summary: 'A stored scenario, its credentials redacted',
        params: NameParams,
        response: { 200: StoredScenarioSchema, ...problemResponses },
      },
    },
    // Stored as sent (runs need the credentials), shown without them.
    (request) => scenarios.get(request.params.name),
  )

  app.put(
    '/api/scenarios/:name',
    {
      schema: {
        tags,
        summary: 'Store a scenario (validated first)',
        params: NameParams,
        body: PutBody,
        response: { 200: StoredScenarioSchema, 201: StoredScenarioSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { scenario, created } = await scenarios.put(request.params.name, request.body.yaml)
      return reply.code(created ? 201 : 200).send(scenario)
    },
  )

  app.post(
    '/api/scenarios/validate',
    {
      schema: {
        tags,
        summary: 'Validate a scenario as storing it would, storing nothing',
        description:
          'The checks of PUT /api/scenarios/:name (parse, schema, units, caps, egress allow-lists, and the ' +
          'name when one is given), nothing stored. 200 with a summary when valid; 422 problem+json when not, ' +
          'each problem with its path and 1-based line:column in the YAML. The dashboard editor calls it as ' +
          'the user types.',
        body: ValidateBody,
        response: { 200: ScenarioCheckSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      try {
        return await scenarios.validate(request.body.yaml, request.body.name)
      } catch (error) {
        // The request was fine and the answer is "this document has problems": 422, whatever status
        // storing it would have refused it with (400 invalid, 403 outside an allow-list).
        if (!(error instanceof GauntletError) || error.problems.length === 0) throw error
        return reply
          .code(422)
          .type('application/problem+json')
          .send({ ...problemOf(error), status: 422, title: 'Unprocessable Content' })
      }
    },
  )

  app.delete(
    '/api/scenarios/:name',
    {
      schema: {
        tags,
        summary: 'Delete a stored scenario',
        params: NameParams,
        response: { 204: NoContent, ...problemResponses },
      },
    },
    (request, reply) => {
      scenarios.delete(request.params.name)
      reply.code(204).send(null)
    },
  )
  done()
}
