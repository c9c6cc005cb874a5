import { GauntletError } from '@gauntlet/contracts'
import { bearerMatches } from '@gauntlet/http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { closeIfBodyPending } from './browser-guards.js'
import { noteCaller } from './audit-log.js'

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS'])
/** Open whatever the token: a load balancer's health check and a Prometheus scrape carry no credential. */
const alwaysOpen = new Set(['/healthz', '/metrics'])

/**
 * With a token configured, every request needs `Authorization: Bearer <token>`: reads too, since runs
 * and scenarios describe targets and what was done to them. `publicRead` (--public-read) opens the
 * reads (the API's and the /docs page); changes still need the token. Unknown paths need it as well,
 * so a stranger cannot even learn which routes exist.
 */
export function requireToken(token: string | undefined, publicRead = false) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!token) return
    if (bearerMatches(request.headers.authorization, token)) {
      noteCaller(request, 'token')
      return
    }
    const route = request.routeOptions.url
    if (route !== undefined && alwaysOpen.has(route)) return
    if (publicRead && readOnly.has(request.method)) return
    // Agent calls are signed with the agent secret instead; their routes check it themselves.
    if (request.routeOptions.config?.agentRoute) return
    // The dashboard's page and scripts hold no data: the page asks for the token, then calls the API with it.
    if (request.routeOptions.config?.publicAsset && readOnly.has(request.method)) return
    closeIfBodyPending(request, reply)
    throw new GauntletError('unauthorized', 'this endpoint needs Authorization: Bearer <GAUNTLET_TOKEN>')
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on routes that agents call (authenticated by the agent secret, not the API token). */
    agentRoute?: boolean
  }
}
