import { GauntletError, toGauntletError } from '@gauntlet/contracts'
import { Type, type Static } from '@gauntlet/contracts/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

/** RFC 9457 problem details: the one error body of the REST API (and its response schema on every 4xx/5xx). */
export const ProblemDetailsSchema = Type.Object(
  {
    type: Type.String({ description: 'https://gauntlet.dev/problems/<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'A GauntletError code: usage, not_found, unauthorized, too_many...' }),
    problems: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({ description: 'Where: /params/id, /body/load/steps/0/rps...' }),
          message: Type.String(),
          line: Type.Optional(Type.Integer({ description: '1-based, in the YAML it came from' })),
          column: Type.Optional(Type.Integer()),
        }),
        { description: 'Validation problems, each with its path (and line:column for YAML).' },
      ),
    ),
  },
  { description: 'application/problem+json (RFC 9457)' },
)
export type ProblemDetails = Static<typeof ProblemDetailsSchema>

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
}

export function problemOf(error: GauntletError): ProblemDetails {
  const status = error.httpStatus
  return {
    type: `https://gauntlet.dev/problems/${error.code.replace(/_/g, '-')}`,
    title: titles[status] ?? 'Error',
    status,
    // 5xx details never leak internals: the message of an internal error is replaced.
    detail: error.code === 'internal' ? 'internal error' : error.message,
    code: error.code,
    ...(error.problems.length > 0 ? { problems: error.problems } : {}),
  }
}

export function sendProblem(reply: FastifyReply, error: GauntletError): FastifyReply {
  const problem = problemOf(error)
  return reply.code(problem.status).type('application/problem+json').send(problem)
}

/** fastify's own errors (bad JSON, body too large, wrong content type) become usage problems. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof GauntletError) return sendProblem(reply, error)
  if (typeof error.statusCode === 'number' && error.statusCode < 500) {
    const problems = error.validation?.map((v) => ({
      path: `/${error.validationContext ?? 'body'}${v.instancePath}`,
      message: v.message ?? 'is invalid',
    }))
    const problem: ProblemDetails = {
      type: 'https://gauntlet.dev/problems/usage',
      title: titles[error.statusCode] ?? 'Bad Request',
      status: error.statusCode,
      detail: error.message,
      code: 'usage',
      ...(problems?.length ? { problems } : {}),
    }
    return reply.code(problem.status).type('application/problem+json').send(problem)
  }
  request.log.error({ err: error }, 'internal error')
  return sendProblem(reply, toGauntletError(error))
}
