import { timingSafeEqual } from 'node:crypto'

/**
 * True when `authorization` is exactly `Bearer <secret>`. Compared in constant time so the secret
 * cannot be guessed byte by byte.
 */
export function bearerMatches(authorization: string | undefined, secret: string): boolean {
  const expected = Buffer.from(`Bearer ${secret}`)
  const given = Buffer.from(authorization ?? '')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
