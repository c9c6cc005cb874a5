import { GauntletError } from '@gauntlet/contracts'
import {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import { credentialHeaderNames, redacted } from '../security/redact.js'
import { mutatingMethods } from './browser-guards.js'

/**
 * The controller's structured log: fastify's own logger (pino), JSON lines on stderr (stdout keeps the
 * CLI's plain lines, `listening <url>` among them). One `audit` line per mutation and per refused
 * request says who, what, from where and the outcome; no line ever holds a secret: credentials are
 * redacted by pino and request bodies are never logged.
 */

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

/**
 * GAUNTLET_LOG_LEVEL (default info). Audit lines of mutations are info (agents' heartbeats and reports: debug), of
 * refusals warn.
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const text = env.GAUNTLET_LOG_LEVEL?.trim().toLowerCase() || 'info'
  if (!(logLevels as readonly string[]).includes(text))
    throw new GauntletError('usage', `GAUNTLET_LOG_LEVEL: "${text}" is not one of ${logLevels.join(', ')}`)
  return text as LogLevel
}

/** Whatever a serializer might add later, these never reach a line. */
const redactPaths = [
  ...[...credentialHeaderNames, 'x-gauntlet-signature'].flatMap((name) => [
    `req.headers["${name}"]`,
    `res.headers["${name}"]`,
  ]),
  'req.body',
  'body',
]

/** fastify's `logger` option for the controller process. */
export function controllerLoggerOptions(level: LogLevel): NonNullable<FastifyServerOptions['logger']> {
  return { level, stream: process.stderr, redact: { paths: redactPaths, censor: redacted } }
}

/** The audit lines are the record of requests; fastify's line per request and response only at debug level. */
export function requestLogController(): LogController {
  return new LogController({ disableRequestLogging: (request) => !['debug', 'trace'].includes(request.log.level) })
}

/** Refusals worth a line even when the method only reads. */
const refusedStatuses = new Set([401, 403, 413, 415, 429])

const callers = new WeakMap<FastifyRequest, string>()

/** Records who a request proved to be (`token`, `agent:<name>`); the audit line reads it. */
export function noteCaller(request: FastifyRequest, who: string): void {
  callers.set(request, who)
}

export interface AuditRecord {
  who: string
  method: string
  /** The route's pattern ("/api/runs/:id/abort"), or the path when no route matched. */
  route: string
  /** Run, scenario, schedule, agent or fault ids from the route's parameters. */
  ids?: Record<string, string>
  remote: string
  status: number
}

export function auditRecord(request: FastifyRequest, reply: FastifyReply): AuditRecord {
  const status = reply.statusCode
  const route = request.routeOptions.url ?? request.url.split('?')[0]!.slice(0, 200)
  const params = (request.params ?? {}) as Record<string, unknown>
  // "*" is the not-found handler's catch-all, not an id.
  const ids = Object.fromEntries(
    Object.entries(params)
      .filter(([k, v]) => k !== '*' && typeof v === 'string')
      .map(([k, v]) => [k, (v as string).slice(0, 100)]),
  )
  return {
    who: callerOf(request),
    method: request.method,
    route,
    ...(Object.keys(ids).length > 0 ? { ids } : {}),
    remote: request.ip,
    status,
  }
}

/** Who the request proved to be: the token holder, a signed agent (agent-auth.ts), or nobody ('anonymous'). */
export function callerOf(request: FastifyRequest): string {
  return callers.get(request) ?? 'anonymous'
}

/** One `audit` line per mutation and per refused request, written once the response is sent. */
export function registerAuditLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    if (!mutatingMethods.has(request.method) && !refusedStatuses.has(reply.statusCode)) return
    const record = auditRecord(request, reply)
    if (record.status >= 400) request.log.warn({ audit: record }, 'audit')
    // Heartbeats and reports come every second from every agent: their successes only at debug level.
    else if (request.routeOptions.config?.agentRoute) request.log.debug({ audit: record }, 'audit')
    else request.log.info({ audit: record }, 'audit')
  })
}
