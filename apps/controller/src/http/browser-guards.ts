import { GauntletError } from '@gauntlet/contracts'
import { closeAfterAnswer, normalizeHost } from '@gauntlet/http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isIP } from 'node:net'

/**
 * What keeps a web browser from being used against the controller: a page on another site cannot
 * read it through DNS rebinding (the Host check) nor make it change anything with a "simple" cross-site
 * request (only application/json mutations are accepted, and no CORS header ever approves a preflight).
 */

export const mutatingMethods: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The Host header must name the controller. DNS rebinding always arrives with the attacker's own name
 * in Host, so the names are what is checked (ports are not: port forwards and proxies change them).
 * IP addresses are always accepted, and so is `localhost`: an attacker's page can never be served from
 * either, so neither can carry a rebinding. Other names must be configured (--public-url,
 * GAUNTLET_ALLOWED_HOSTS, or a named --host).
 */
export function hostAllowed(hostHeader: string | undefined, allowedNames: readonly string[]): boolean {
  const hostname = hostnameOf(hostHeader)
  if (hostname === undefined) return false
  if (isIP(hostname) !== 0 || hostname === 'localhost') return true
  return allowedNames.some((name) => normalizeHost(name) === hostname)
}

/** The host name of a Host header ("Example.com:8080" -> "example.com", "[::1]:80" -> "::1"). */
function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostHeader.trim())
  return match ? normalizeHost(match[1]!) : undefined
}

export function requireAllowedHost(allowedNames: readonly string[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!hostAllowed(request.headers.host, allowedNames)) {
      closeIfBodyPending(request, reply)
      // The header is the caller's text: shown cut and as JSON, never trusted.
      throw new GauntletError(
        'forbidden',
        `Host ${JSON.stringify((request.headers.host ?? '').slice(0, 100))} is not a name of this controller ` +
          `(set --public-url or GAUNTLET_ALLOWED_HOSTS to add one)`,
      )
    }
  }
}

/**
 * Every mutation is application/json, so a cross-site form or a no-cors fetch (text/plain,
 * x-www-form-urlencoded, multipart) can never reach a handler. DELETE and abort included: one rule,
 * whatever the route carries in its body.
 */
export function requireJsonMutations() {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // Agent routes admit only signed requests (a browser cannot sign): their signature is checked first.
    if (!mutatingMethods.has(request.method) || request.routeOptions.config?.agentRoute) return
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (mediaType !== 'application/json') {
      closeIfBodyPending(request, reply)
      throw new GauntletError(
        'unsupported_media_type',
        `${request.method} needs content-type: application/json${mediaType ? `, not ${mediaType.slice(0, 100)}` : ''}`,
      )
    }
  }
}

/**
 * fastify refuses an empty body sent as application/json; a bodiless mutation (abort, DELETE) must
 * carry that content type anyway, so an empty body reads as no body. Anything else is parsed by
 * fastify's own parser (prototype poisoning refused).
 */
export function acceptEmptyJsonBodies(
  app: FastifyInstance,
  /** Given each raw body before it is parsed (then the bodies are read as bytes). */
  onBody?: (request: FastifyRequest, raw: Buffer) => void,
): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: onBody ? 'buffer' : 'string' }, (request, body, done) => {
    onBody?.(request, body as Buffer)
    const text = body.toString()
    if (text.trim() === '') return done(null, undefined)
    return parseJson(request, text, done)
  })
}

/**
 * A refused request's body is not wanted: the connection ends with the answer (`Connection: close`),
 * instead of reading a slow or large body until the request timeout.
 */
export function closeIfBodyPending(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined)
    closeAfterAnswer(request, reply)
}

/**
 * On every answer: no page may frame the controller's (the /docs page: a framed "Execute" would be a
 * same-origin request), and no browser may guess a content type.
 */
export function securityHeaders() {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header('x-frame-options', 'DENY')
    reply.header('content-security-policy', "frame-ancestors 'none'")
    reply.header('x-content-type-options', 'nosniff')
  }
}
