import {
  AgentReportSchema,
  agentNamePattern,
  GauntletError,
  HeartbeatReplySchema,
  HeartbeatSchema,
  maxAgentReportBytes,
  maxHeartbeatBytes,
} from '@gauntlet/contracts'
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { assertUrlAllowed } from '@gauntlet/http'
import { Type } from '@gauntlet/contracts/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { AgentRegistry } from '../agents/agent-registry.js'
import type { ControllerSettings } from '../config/controller-settings.js'
import { agentAuth } from './agent-auth.js'
import { acceptEmptyJsonBodies } from './browser-guards.js'
import { AgentViewSchema, problemResponses, ReportAcceptedSchema } from './api-schemas.js'
import type { ReportGate } from './report-gate.js'

const NameParams = Type.Object({ name: Type.String({ pattern: agentNamePattern }) })

/**
 * The agents' side of the API: heartbeats (which register), window reports, and the list for people.
 * Agents' calls are signed with GAUNTLET_AGENT_SECRET (agent-auth.ts) instead of carrying the API token.
 */
export const agentsRoutes: FastifyPluginCallbackTypebox<{
  agents: AgentRegistry
  settings: ControllerSettings
  /** Where agents' reports wait their turn (report-gate.ts); /metrics reads its load. */
  reportGate: ReportGate
}> = (app, deps, done) => {
  const auth = agentAuth(deps.settings.agentSecret, deps.settings.limits.maxAgents)
  const agentOnly = {
    config: { agentRoute: true },
    onRequest: auth.onRequest,
    preParsing: auth.preParsing,
    preValidation: auth.preValidation,
  }
  // The agents' JSON bodies are hashed whole as they are parsed, for their signature (agent-auth.ts).
  acceptEmptyJsonBodies(app, auth.bodyRead)
  const gate = deps.reportGate
  // After the signature (a stranger never holds a place), before a byte of the body is read.
  const waitForSlot = async (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: NodeJS.ReadableStream,
  ): Promise<NodeJS.ReadableStream> => {
    const agent = (request.params as { name: string }).name
    const declared = Number(request.headers['content-length'])
    const ticket = gate.enter(
      agent,
      Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, maxAgentReportBytes) : maxAgentReportBytes,
    )
    if (!ticket) {
      reply.header('retry-after', '1')
      throw new GauntletError(
        'too_many',
        `agent ${agent} already has ${gate.options.waitingPerAgent} reports waiting: send one report at a time for each run`,
      )
    }
    // Answered, failed or abandoned by its sender: the slot (or the place in the queue) is given up. The
    // socket's close too: a request pipelined behind another has a reply not yet tied to the socket, which
    // never closes if the socket goes first, and would hold its slot for good.
    const socket = request.raw.socket
    const release = (): void => {
      reply.raw.off('close', release)
      socket.off('close', release)
      ticket.done()
    }
    reply.raw.once('close', release)
    socket.once('close', release)
    await ticket.ready
    return payload
  }

  app.get(
    '/api/agents',
    {
      schema: {
        tags: ['agents'],
        summary: 'Remote agents known to the controller',
        response: { 200: Type.Array(AgentViewSchema), ...problemResponses },
      },
    },
    () => deps.agents.list(),
  )

  app.put(
    '/api/agents/:name',
    {
      ...agentOnly,
      bodyLimit: maxHeartbeatBytes,
      schema: {
        tags: ['agents'],
        summary: 'Agent heartbeat (registers the agent)',
        params: NameParams,
        body: HeartbeatSchema,
        response: { 200: HeartbeatReplySchema, ...problemResponses },
      },
    },
    (request) => {
      // The controller will call this URL with orders: only hosts GAUNTLET_AGENT_ALLOW names (checked again at connect
      // time).
      assertUrlAllowed(request.body.url, deps.settings.agentAllow, `agent ${request.params.name}'s URL`)
      return deps.agents.heartbeat(request.params.name, request.body)
    },
  )

  app.post(
    '/api/agents/:name/reports',
    {
      ...agentOnly,
      preParsing: [waitForSlot, auth.preParsing],
      bodyLimit: maxAgentReportBytes,
      // A report the schema refuses still counts against its run (below), then gets fastify's 400.
      attachValidation: true,
      schema: {
        tags: ['agents'],
        summary: 'Windows (and the end of its load) from an agent',
        params: NameParams,
        body: AgentReportSchema,
        response: { 202: ReportAcceptedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      if (request.validationError) {
        const runId = (request.body as { runId?: unknown } | undefined)?.runId
        const { validation, validationContext } = request.validationError as FastifyError
        const first = validation?.[0]
        if (validationContext === 'body' && typeof runId === 'string') {
          deps.agents.refuse(
            request.params.name,
            runId,
            `${first?.instancePath || '/'}: ${first?.message ?? 'does not match the report schema'}`,
          )
        }
        throw request.validationError
      }
      if (!(await deps.agents.ingest(request.params.name, request.body))) {
        throw new GauntletError(
          'not_found',
          `run ${request.body.runId} is not in progress on this controller: stop its load`,
        )
      }
      return reply.code(202).send({ accepted: request.body.windows.length })
    },
  )
  done()
}
