import {
  FaultApplyRequestSchema,
  FaultPrepareRequestSchema,
  GauntletError,
  type FaultApplyRequest,
  type FaultPrepareRequest,
} from '@gauntlet/contracts'
import { Type } from '@gauntlet/contracts/typebox'
import type { FastifyInstance } from 'fastify'
import type { AgentFaults } from '../faults/agent-faults.js'

const FaultParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }) })
/** A fault order is a spec and two fields: far below this. */
const faultBodyLimit = 64 * 1024

/**
 * The fault orders of the agent's controller (contracts/agent-protocol.ts), registered inside the
 * signed scope. Without --docker the routes exist and say why they cannot act, so a controller learns
 * the reason instead of a bare 404.
 */
export function faultRoutes(app: FastifyInstance, faults: AgentFaults | undefined): void {
  const engine = (): AgentFaults => {
    if (!faults)
      throw new GauntletError(
        'conflict',
        'this agent was started without --docker: it has no Docker engine to inject faults with',
      )
    return faults
  }

  app.get('/faults', () => engine().list())

  app.post<{ Body: FaultPrepareRequest }>(
    '/faults/prepare',
    { bodyLimit: faultBodyLimit, schema: { body: FaultPrepareRequestSchema } },
    (request) => engine().prepare(request.body.spec, { warm: request.body.check !== true }),
  )

  app.post<{ Body: FaultApplyRequest }>(
    '/faults',
    { bodyLimit: faultBodyLimit, schema: { body: FaultApplyRequestSchema } },
    async (request, reply) => reply.code(201).send(await engine().apply(request.body)),
  )

  // The first half of a revert (proxy delay): answers once new connections bypass the proxy.
  app.post<{ Params: { id: string } }>('/faults/:id/bypass', { schema: { params: FaultParams } }, (request) =>
    engine().bypass(request.params.id, 'reverted by the controller'),
  )

  app.delete<{ Params: { id: string } }>('/faults/:id', { schema: { params: FaultParams } }, (request) =>
    engine().revert(request.params.id, 'reverted by the controller'),
  )
}
