import { GauntletError } from '@gauntlet/contracts'
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { Transform } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { closeAfterAnswer } from './close-after-answer.js'
import { sendProblem } from './problem-details.js'

/**
 * Requests between a controller and its agents, signed both ways with the shared GAUNTLET_AGENT_SECRET.
 * The secret never travels: each request carries an HMAC-SHA256 of
 *
 *   METHOD \n host \n path-with-query \n timestamp (epoch ms) \n nonce \n hex SHA-256 of the body
 *
 * The host (as in the Host header, lower case, without a default port) binds a request to its
 * receiver: an order captured on its way to one agent is refused by every other.
 *
 * A receiver takes it within ±30 s of its own clock, once per nonce, and only with a body whose digest
 * is the one signed. The headers are checked before the body is read, so a stranger cannot make a
 * server buffer anything; the body's digest is checked once it has been read.
 */
export const signatureHeader = 'x-gauntlet-signature'
export const timestampHeader = 'x-gauntlet-timestamp'
export const nonceHeader = 'x-gauntlet-nonce'
export const digestHeader = 'x-gauntlet-content-sha256'

/** How far a request's timestamp may be from the receiver's clock. */
export const signatureWindowMs = 30_000
/** Nonces remembered at once by default; beyond it signed requests are refused until old ones expire (fail closed). */
const defaultMaxNonces = 100_000

const emptyBodyDigest = sha256Hex('')

export function sha256Hex(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex')
}

/** The headers that sign one request to the absolute `url` (add them to the request as they are). */
export function signRequest(
  secret: string,
  method: string,
  url: string,
  body: string | undefined,
  now: number = Date.now(),
): Record<string, string> {
  const { host, pathname, search } = new URL(url)
  const timestamp = String(Math.round(now))
  const nonce = randomBytes(16).toString('hex')
  const digest = sha256Hex(body ?? '')
  return {
    [timestampHeader]: timestamp,
    [nonceHeader]: nonce,
    [digestHeader]: digest,
    [signatureHeader]: signatureOf(secret, method, host, pathname + search, timestamp, nonce, digest),
  }
}

function signatureOf(
  secret: string,
  method: string,
  host: string,
  path: string,
  timestamp: string,
  nonce: string,
  digest: string,
): string {
  const canonical = [method.toUpperCase(), canonicalHost(host), path, timestamp, nonce, digest].join('\n')
  return createHmac('sha256', secret).update(canonical).digest('hex')
}

/** "Example.com:80" and "example.com" are one receiver: lower case, no default port. */
function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/:(80|443)$/, '')
}

/** Checks signed requests for one secret, remembering the nonces it has seen within the window. */
export class RequestVerifier {
  /** nonce -> the time it can be forgotten (its timestamp + the window). Insertion order is expiry order, roughly. */
  private readonly nonces = new Map<string, number>()

  constructor(
    private readonly secret: string,
    private readonly now: () => number = Date.now,
    /** Only signed requests are remembered, so only holders of the secret fill this: size it to them. */
    private readonly maxNonces = defaultMaxNonces,
  ) {}

  /**
   * Checks the signature over method, path, timestamp, nonce and the CLAIMED body digest, and records
   * the nonce. Returns the claimed digest, which the body must then match.
   * Throws GauntletError('unauthorized') saying what was wrong, never what was expected.
   */
  verifyHeaders(
    method: string,
    host: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): string {
    const timestamp = single(headers[timestampHeader])
    const nonce = single(headers[nonceHeader])
    const digest = single(headers[digestHeader])
    const signature = single(headers[signatureHeader])
    if (!timestamp || !nonce || !digest || !signature) throw unauthorized('the request is not signed')
    if (
      !/^\d{1,15}$/.test(timestamp) ||
      !/^[0-9a-f]{16,64}$/.test(nonce) ||
      !/^[0-9a-f]{64}$/.test(digest) ||
      !/^[0-9a-f]{64}$/.test(signature)
    ) {
      throw unauthorized('the request signature is malformed')
    }
    const expected = Buffer.from(signatureOf(this.secret, method, host, path, timestamp, nonce, digest), 'hex')
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex')))
      throw unauthorized('the request signature does not match')
    const nowMs = this.now()
    if (Math.abs(nowMs - Number(timestamp)) > signatureWindowMs)
      throw unauthorized(`the request was signed more than ${signatureWindowMs / 1000} s from this server's clock`)
    this.forgetExpired(nowMs)
    if (this.nonces.has(nonce)) throw unauthorized('the request was replayed')
    if (this.nonces.size >= this.maxNonces)
      throw new GauntletError('too_many', 'too many signed requests within the signature window')
    this.nonces.set(nonce, Number(timestamp) + signatureWindowMs)
    return digest
  }

  private forgetExpired(nowMs: number): void {
    for (const [nonce, until] of this.nonces) {
      // Nonces arrive in nearly timestamp order: stop at the first live one rather than scan them all.
      if (until >= nowMs) break
      this.nonces.delete(nonce)
    }
  }
}

/**
 * fastify hooks that admit only requests signed with the verifier's secret (or refuse every request
 * when there is none). Add all three to a route: onRequest checks the headers before any byte of the
 * body is read (a refusal closes the connection, and an unread body is never buffered), preParsing
 * hashes the body as it streams in, preValidation compares that digest with the signed one.
 *
 * With `hashBody: 'parser'`, preParsing leaves the body alone and the routes' body parser hashes it whole
 * (it calls `bodyRead` with the raw bytes): no stream between the socket and the parser, for routes with
 * many small bodies (agents' reports). A body that parser never reads is taken as empty, so a request
 * signed over another body is refused.
 */
export function signedRequestHooks(
  verifier: RequestVerifier | undefined,
  noSecretMessage: string,
  options: { hashBody?: 'stream' | 'parser' } = {},
) {
  return {
    /** The raw body, as the routes' body parser read it (hashBody: 'parser'). */
    bodyRead: (request: FastifyRequest, raw: Buffer): void => {
      const state = signedDigests.get(request)
      if (state) state.actual = sha256Hex(raw)
    },
    onRequest: async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      try {
        if (!verifier) throw unauthorized(noSecretMessage)
        signedDigests.set(request, {
          claimed: verifier.verifyHeaders(request.method, request.headers.host ?? '', request.url, request.headers),
        })
        return undefined
      } catch (error) {
        if (!(error instanceof GauntletError)) throw error
        // The body may still be arriving (tens of MB): answer now, unread, and close the connection.
        closeAfterAnswer(request, reply)
        return sendProblem(reply, error)
      }
    },
    preParsing: async (
      request: FastifyRequest,
      reply: FastifyReply,
      payload: NodeJS.ReadableStream,
    ): Promise<NodeJS.ReadableStream> => {
      const state = signedDigests.get(request)
      if (!state) return payload
      // Declared too large: refused unread, with an answer the sender can still read (fastify's own check resets).
      const limit = request.routeOptions.bodyLimit
      if (Number(request.headers['content-length']) > limit) {
        closeAfterAnswer(request, reply)
        throw new GauntletError('payload_too_large', `the body is larger than the ${limit} bytes this route takes`)
      }
      if (options.hashBody === 'parser') return payload
      const hash = createHash('sha256')
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk)
          callback(null, chunk)
        },
        flush(callback) {
          state.actual = hash.digest('hex')
          callback()
        },
      })
      payload.pipe(hashing)
      // A client that goes away mid-body ends the hashing stream too (pipe alone would leave the body parser
      // waiting for good). Not stream.pipeline: it makes an AbortController per request and aborts it when
      // done, which builds a DOMException with its stack: ~5% of the controller's time under agents' reports.
      let ended = false
      payload.once('end', () => (ended = true))
      payload.once('close', () => {
        if (!ended) hashing.destroy(new Error('the request body was cut off'))
      })
      return hashing
    },
    preValidation: (request: FastifyRequest): Promise<void> => {
      const state = signedDigests.get(request)
      if (!state) return Promise.reject(unauthorized(noSecretMessage))
      // No body was read (none was sent): the signature must be over the empty body.
      if ((state.actual ?? emptyBodyDigest) !== state.claimed)
        return Promise.reject(unauthorized('the request body is not the one signed'))
      return Promise.resolve()
    },
  }
}

const signedDigests = new WeakMap<FastifyRequest, { claimed: string; actual?: string }>()

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value
}

function unauthorized(message: string): GauntletError {
  return new GauntletError('unauthorized', message)
}
