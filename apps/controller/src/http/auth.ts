import { GauntletError } from '@gauntlet/contracts'
import { bearerMatches } from '@gauntlet/http'
import type { FastifyRequest } from 'fastify'

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS'])

/** With a token configured, every mutating request needs `Authorization: Bearer <token>`. */
export function requireToken(token: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!token || readOnly.has(request.method)) return
    // Agent calls carry the agent secret instead; their routes check it themselves.
    if (request.routeOptions.config?.agentRoute) return
    if (!bearerMatches(request.headers.authorization, token)) {
      throw new GauntletError('unauthorized', 'this endpoint needs Authorization: Bearer <GAUNTLET_TOKEN>')
    }
  }
}

/** For the routes agents call: `Authorization: Bearer <GAUNTLET_AGENT_SECRET>` when a secret is set. */
export function requireAgentSecret(secret: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    if (secret && !bearerMatches(request.headers.authorization, secret)) {
      throw new GauntletError('unauthorized', 'agent calls need Authorization: Bearer <GAUNTLET_AGENT_SECRET>')
    }
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on routes that agents call (authenticated by the agent secret, not the API token). */
    agentRoute?: boolean
  }
}
