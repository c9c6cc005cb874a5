import {
  AssignmentSchema,
  GauntletError,
  maxAssignmentBytes,
  ReplanSchema,
  type Assignment,
  type Replan,
} from '@gauntlet/contracts'
import { errorHandler, RequestVerifier, sendProblem, serverTimeouts, signedRequestHooks } from '@gauntlet/http'
import { Type } from '@gauntlet/contracts/typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import type { AgentFaults } from '../faults/agent-faults.js'
import type { Assignments } from './assignments.js'
import { faultRoutes } from './fault-routes.js'

const RunParams = Type.Object({ runId: Type.String({ maxLength: 100 }) })

/**
 * The agent's HTTP API, called by its controller. Every route but /healthz takes only requests its
 * controller signed with the shared GAUNTLET_AGENT_SECRET: an agent must never take orders from
 * anyone else, nor the same order twice.
 */
export function buildAgentApp(deps: {
  name: string
  secret: string
  assignments: Assignments
  /** Present on a fault-capable agent (--docker). */
  faults?: AgentFaults
  now?: () => number
}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
    // errorMessage: the contracts' schemas carry messages for people (fault specs); ajv need not know the keyword.
    ajv: { customOptions: { removeAdditional: false, keywords: ['errorMessage'] } },
    ...serverTimeouts,
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new GauntletError('not_found', `no route ${request.method} ${request.url}`)),
  )
  const { assignments } = deps

  app.get('/healthz', () => ({ status: 'ok', name: deps.name, runs: assignments.runIds }))

  // Everything registered in here needs the controller's signature; /healthz above stays open.
  app.register((orders, _options, done) => {
    const signed = signedRequestHooks(
      new RequestVerifier(deps.secret, deps.now),
      'this agent takes orders only signed with GAUNTLET_AGENT_SECRET',
    )
    orders.addHook('onRequest', signed.onRequest)
    orders.addHook('preParsing', signed.preParsing)
    orders.addHook('preValidation', signed.preValidation)
    orderRoutes(orders, assignments)
    faultRoutes(orders, deps.faults)
    done()
  })
  return app
}

function orderRoutes(app: FastifyInstance, assignments: Assignments): void {
  app.get('/assignments', () => assignments.list())

  // A run's data sets travel in its assignment: the body may be large (signed before it is read).
  const assignment = { schema: { body: AssignmentSchema }, bodyLimit: maxAssignmentBytes }
  app.post<{ Body: Assignment }>('/assignments', assignment, async (request, reply) => {
    await assignments.start(request.body)
    return reply.code(202).send({ runId: request.body.runId })
  })

  app.put<{ Params: { runId: string }; Body: Replan }>(
    '/assignments/:runId/plan',
    { schema: { params: RunParams, body: ReplanSchema } },
    async (request) => {
      const accepted = await assignments.replan(request.params.runId, request.body.fromS, request.body.steps)
      if (!accepted)
        throw new GauntletError(
          'conflict',
          `second ${request.body.fromS} of run ${request.params.runId} is already under way: too late to ` +
            `replan from it`,
        )
      return { accepted }
    },
  )

  app.post<{ Params: { runId: string } }>(
    '/assignments/:runId/reconnect',
    { schema: { params: RunParams } },
    async (request, reply) => {
      // Answered once the connections have moved, so the controller can wait for it before a proxy drains.
      if (!(await assignments.reconnect(request.params.runId)))
        throw new GauntletError('not_found', `run ${request.params.runId} is not running here`)
      return reply.code(200).send({ runId: request.params.runId, moved: true })
    },
  )

  app.delete<{ Params: { runId: string } }>(
    '/assignments/:runId',
    { schema: { params: RunParams } },
    async (request, reply) => {
      if (!assignments.stop(request.params.runId))
        throw new GauntletError('not_found', `run ${request.params.runId} is not running here`)
      return reply.code(202).send({ runId: request.params.runId, stopping: true })
    },
  )
}
