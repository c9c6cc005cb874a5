import { FaultDocumentSchema, type AgentFaultReport, type FaultSpec } from '@gauntlet/contracts'
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@gauntlet/contracts/typebox'
import { adhocFault } from '@gauntlet/faults/documents'
import { FaultReportSchema, problemResponses } from './api-schemas.js'

const FaultParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }) })

/**
 * Whatever holds ad hoc faults: the faults router (the fault-capable agent whose engine holds the
 * target), or a fault engine itself.
 */
export interface AdhocFaults {
  apply(spec: FaultSpec, untilEpochMs: number): Promise<AgentFaultReport>
  list(): Promise<AgentFaultReport[]>
  revert(id: string, reason: string): Promise<AgentFaultReport>
}

/**
 * Ad hoc faults: apply for a duration, list, revert. Each goes to an agent whose Docker engine holds
 * its target (409 naming the target when none does), or the controller's own engine with --docker.
 */
export const faultsRoutes: FastifyPluginCallbackTypebox<{ faults: AdhocFaults }> = (app, { faults }, done) => {
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
      return reply.code(201).send(await faults.apply(spec, Date.now() + spec.durationMs))
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
