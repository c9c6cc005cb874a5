import {
  AgentReportSchema,
  agentNamePattern,
  GauntletError,
  HeartbeatReplySchema,
  HeartbeatSchema,
  maxAgentReportBytes,
  maxHeartbeatBytes,
  type AgentReport,
  type Heartbeat,
} from '@gauntlet/contracts'
import { assertUrlAllowed } from '@gauntlet/http'
import { Type } from '@sinclair/typebox'
import type { FastifyError, FastifyInstance } from 'fastify'
import type { AgentRegistry } from '../agents/agent-registry.js'
import type { ControllerSettings } from '../config/controller-settings.js'
import { agentAuth } from './agent-auth.js'

const NameParams = Type.Object({ name: Type.String({ pattern: agentNamePattern }) })

const AgentView = Type.Object({
  name: Type.String(),
  url: Type.String(),
  capacityRps: Type.Number(),
  version: Type.String(),
  state: Type.Union([Type.Literal('ready'), Type.Literal('busy'), Type.Literal('lost')]),
  registeredAt: Type.String(),
  lastHeartbeatAt: Type.String(),
  runs: Type.Array(Type.String(), { description: 'Runs assigned to it now.' }),
  reportedRuns: Type.Array(Type.String(), { description: 'Runs it said it was loading in its last heartbeat.' }),
  clock: Type.Optional(
    Type.Object({
      offsetMs: Type.Number({ description: "Controller clock minus the agent's, as the agent estimates it." }),
      uncertaintyMs: Type.Number({
        description:
          'The estimate is right to within this (half its best heartbeat round trip): the bound on cross-host window alignment.',
      }),
    }),
  ),
})

/**
 * The agents' side of the API: heartbeats (which register), window reports, and the list for people.
 * Agents' calls are signed with GAUNTLET_AGENT_SECRET (agent-auth.ts) instead of carrying the API token.
 */
export async function agentsRoutes(
  app: FastifyInstance,
  deps: { agents: AgentRegistry; settings: ControllerSettings },
): Promise<void> {
  const auth = agentAuth(deps.settings.agentSecret, deps.settings.limits.maxAgents)
  const agentOnly = {
    config: { agentRoute: true },
    onRequest: auth.onRequest,
    preParsing: auth.preParsing,
    preValidation: auth.preValidation,
  }

  app.get('/api/agents', { schema: { tags: ['agents'], response: { 200: Type.Array(AgentView) } } }, async () =>
    deps.agents.list(),
  )

  app.put<{ Params: { name: string }; Body: Heartbeat }>(
    '/api/agents/:name',
    {
      ...agentOnly,
      bodyLimit: maxHeartbeatBytes,
      schema: {
        tags: ['agents'],
        summary: 'Agent heartbeat (registers the agent)',
        params: NameParams,
        body: HeartbeatSchema,
        response: { 200: HeartbeatReplySchema },
      },
    },
    async (request) => {
      // The controller will call this URL with orders: only hosts GAUNTLET_AGENT_ALLOW names (checked again at connect time).
      assertUrlAllowed(request.body.url, deps.settings.agentAllow, `agent ${request.params.name}'s URL`)
      return deps.agents.heartbeat(request.params.name, request.body)
    },
  )

  app.post<{ Params: { name: string }; Body: AgentReport }>(
    '/api/agents/:name/reports',
    {
      ...agentOnly,
      bodyLimit: maxAgentReportBytes,
      // A report the schema refuses still counts against its run (below), then gets fastify's 400.
      attachValidation: true,
      schema: {
        tags: ['agents'],
        summary: 'Windows (and the end of its load) from an agent',
        params: NameParams,
        body: AgentReportSchema,
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
}
