import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { ScenarioService } from '../scenario/scenario-service.js'
import { NoContent, problemResponses, ScenarioListItemSchema, StoredScenarioSchema } from './api-schemas.js'

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$' }) })
const PutBody = Type.Object({ yaml: Type.String({ minLength: 1 }) }, { additionalProperties: false })

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
