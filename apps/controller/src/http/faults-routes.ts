import type { FaultEngine } from '@gauntlet/faults'
import { FaultDocumentSchema } from '@gauntlet/contracts'
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { adhocFault } from '@gauntlet/faults/documents'
import { FaultReportSchema, problemResponses } from './api-schemas.js'

const FaultParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }) })

/** Ad hoc faults on the controller host's Docker engine: apply for a duration, list, revert. */
export const faultsRoutes: FastifyPluginCallbackTypebox<{ faults: FaultEngine }> = (app, { faults }, done) => {
  const tags = ['faults']
  app.post(
    '/api/faults',
    {
      schema: {
        tags,
        summary: 'Apply a fault now, for its duration',
        body: FaultDocumentSchema,
        response: { 201: FaultReportSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const spec = adhocFault(request.body, '/body')
      return reply.code(201).send(await faults.apply(spec))
    },
  )
  app.get(
    '/api/faults',
    {
      schema: {
        tags,
        summary: 'Active faults: where, and until when',
        response: { 200: Type.Array(FaultReportSchema), ...problemResponses },
      },
    },
    () => faults.list(),
  )
  app.delete(
    '/api/faults/:id',
    {
      schema: {
        tags,
        summary: 'Revert a fault now',
        params: FaultParams,
        response: { 200: FaultReportSchema, ...problemResponses },
      },
    },
    (request) => faults.revert(request.params.id, 'deleted over REST'),
  )
  done()
}
