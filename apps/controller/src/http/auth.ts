import { GauntletError } from '@gauntlet/contracts'
import type { FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'

const readOnly = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * With a token configured, every mutating request needs `Authorization: Bearer <token>`.
 * Compared in constant time so the token cannot be guessed byte by byte.
 */
export function requireToken(token: string | undefined) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined
  return async (request: FastifyRequest): Promise<void> => {
    if (!expected || readOnly.has(request.method)) return
    const given = Buffer.from(request.headers.authorization ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new GauntletError('unauthorized', 'this endpoint needs Authorization: Bearer <GAUNTLET_TOKEN>')
    }
  }
}
