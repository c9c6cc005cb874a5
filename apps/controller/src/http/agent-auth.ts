import { RequestVerifier, signedRequestHooks } from '@gauntlet/http'
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface AgentAuthHooks {
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  preParsing(request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream>
  preValidation(request: FastifyRequest): Promise<void>
}

/**
 * The check on the routes agents call: only requests signed with GAUNTLET_AGENT_SECRET, each once,
 * within ±30 s. Without a secret the controller takes no remote agents and these routes refuse every
 * request. The headers are checked before the body is read (a refusal closes the connection, so a
 * stranger's body is never buffered); the body is then checked against the digest that was signed.
 * One verifier per controller: its nonce cache is what refuses a replay on any agent route.
 */
export function agentAuth(secret: string | undefined, now?: () => number): AgentAuthHooks {
  return signedRequestHooks(
    secret ? new RequestVerifier(secret, now) : undefined,
    'this controller takes no remote agents: GAUNTLET_AGENT_SECRET is not set (it runs on its embedded agent)',
  )
}
