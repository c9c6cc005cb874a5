import type { FaultEngine } from '@gauntlet/agent'
import { FaultDocumentSchema, type FaultDocument } from '@gauntlet/contracts'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { adhocFault } from '../faults/adhoc-fault.js'

const FaultParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }) })

/** Ad hoc faults on the controller host's Docker engine: apply for a duration, list, revert. */
export async function faultsRoutes(app: FastifyInstance, { faults }: { faults: FaultEngine }): Promise<void> {
  app.post<{ Body: FaultDocument }>(
    '/api/faults',
    { schema: { tags: ['faults'], summary: 'Apply a fault now, for its duration', body: FaultDocumentSchema } },
    async (request, reply) => {
      const spec = adhocFault(request.body, '/body')
      return reply.code(201).send(await faults.apply(spec))
    },
  )
  app.get('/api/faults', { schema: { tags: ['faults'], summary: 'Active faults: where, and until when' } }, async () =>
    faults.list(),
  )
  app.delete<{ Params: { id: string } }>(
    '/api/faults/:id',
    { schema: { tags: ['faults'], params: FaultParams } },
    async (request) => faults.revert(request.params.id, 'deleted over REST'),
  )
}
