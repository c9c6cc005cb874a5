import { agentNamePattern } from '@gauntlet/contracts'
import { RequestVerifier, signedRequestHooks } from '@gauntlet/http'
import { noteCaller } from './audit-log.js'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Route hooks; properties rather than methods, so that spreading them into a route's options keeps them whole. */
export interface AgentAuthHooks {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
  preParsing: (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: NodeJS.ReadableStream,
  ) => Promise<NodeJS.ReadableStream>
  preValidation: (request: FastifyRequest) => Promise<void>
  /** The routes' JSON parser calls this with each raw body: it is hashed there, whole (no stream per request). */
  bodyRead: (request: FastifyRequest, raw: Buffer) => void
}

/**
 * The check on the routes agents call: only requests signed with GAUNTLET_AGENT_SECRET, each once,
 * within ±30 s. Without a secret the controller takes no remote agents and these routes refuse every
 * request. The headers are checked before the body is read (a refusal closes the connection, so a
 * stranger's body is never buffered); the body is then checked against the digest that was signed.
 * One verifier per controller: its nonce cache is what refuses a replay on any agent route.
 */
export function agentAuth(secret: string | undefined, maxAgents: number, now?: () => number): AgentAuthHooks {
  // Each agent signs about two requests a second (heartbeat, report), each remembered for up to 60 s.
  const verifier = secret
    ? new RequestVerifier(secret, now, Math.max(100_000, maxAgents * nonceBudgetPerAgent))
    : undefined
  const hooks = signedRequestHooks(
    verifier,
    'this controller takes no remote agents: GAUNTLET_AGENT_SECRET is not set (it runs on its embedded agent)',
    { hashBody: 'parser' },
  )
  return {
    ...hooks,
    // Once the signature holds, the audit line names the agent (the route's :name) as the caller.
    onRequest: async (request, reply) => {
      // (A fastify reply is thenable: awaiting the hook's answer would wait for it to be sent.)
      await hooks.onRequest(request, reply)
      if (reply.sent) return reply
      // The route's params are validated only later: a name outside the agents' grammar is not recorded as one.
      const name = (request.params as { name?: unknown } | undefined)?.name
      if (typeof name === 'string' && agentName.test(name)) noteCaller(request, `agent:${name}`)
      return undefined
    },
  }
}

const agentName = new RegExp(agentNamePattern)

/** Nonces one agent can have in the verifier's memory at once: 2 requests a second for 60 s, with room for retries. */
const nonceBudgetPerAgent = 240
