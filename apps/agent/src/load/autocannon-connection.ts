import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import type { TargetTls } from '@gauntlet/contracts'
import { isExpectedStatus, isTlsErrorCode, tlsFailureText } from '@gauntlet/contracts/plain'
import { BodyMatcher } from './body-matcher.js'
import { followedBytes, isRedirectStatus, maxRedirectHops, redirectRequest, type RequestLine } from './redirect.js'
import { headersMatch, headerValues, type ResponseExpectation } from './response-expectation.js'
import { tlsConnectOptions } from './tls-options.js'
import type { FailureKind } from './window-accumulator.js'

/**
 * autocannon has no per-request API: its Client is one keep-alive connection that builds the request
 * bytes, parses responses and reconnects, but it schedules sends itself (back to back, or a whole
 * second's budget at each second boundary when rate-limited). We keep the engine and take over the
 * schedule by overriding its two scheduling hooks:
 *   _doRequest() autocannon: "send the next request now"   -> we: "this connection is free"
 *   _connect()   autocannon: "reconnect now"               -> we: "reconnect lazily on the next send"
 * Lazy reconnects keep a refused target from turning into a busy connect loop. autocannon's own
 * timeout timer is disabled; the generator times out requests itself, from their send time.
 * A request handed to a connection whose socket is still connecting leaves only once it is connected
 * (for https, once the handshake is over): the owner hears `requestLeft` then, not when it handed it over.
 * For https we open the TLS socket ourselves (autocannon's _connect hard-codes rejectUnauthorized:
 * false) and wire it as autocannon's _connect does: see connectTls.
 * Response checks (target.expect) hook autocannon's parser: its body callback (replaced: autocannon
 * would concatenate every body into a string) and requestIterator.recordBody, which it calls with the
 * raw headers just before it emits 'response'. A followed redirect is written on the same connection
 * through autocannon's own write path (getRequestBuffer answers the redirect's bytes).
 * The internal module path is why autocannon's version is pinned exactly in package.json.
 */
const require = createRequire(import.meta.url)

interface ResponseParser {
  type: string
  state: string
  initialize(type: string): void
  finish(): void
  execute(chunk: Buffer): void
  [callback: number]: unknown
}

interface AutocannonClient {
  conn?: { destroyed: boolean; write(bytes: Buffer): boolean }
  parser: ResponseParser
  requestIterator: {
    currentRequest: unknown
    recordBody(request: unknown, status: number, body: string, rawHeaders?: string[]): void
  }
  getRequestBuffer(): Buffer
  destroyed: boolean
  timeoutTicker: { clear(): void }
  pipelinedRequests: { addByteCount(count: number): void; insertRequest(request: unknown): void }
  on(event: string, listener: (...args: never[]) => void): void
  emit(event: string, ...args: unknown[]): boolean
  _connect(): void
  _doRequest(): void
  _destroyConnection(): void
  destroy(): void
}
const Client = require('autocannon/lib/httpClient.js') as {
  new (opts: object): AutocannonClient
  prototype: AutocannonClient
}
// The same module autocannon parses responses with (its own dependency, resolved from autocannon).
const { HTTPParser } = createRequire(require.resolve('autocannon/lib/httpClient.js'))('http-parser-js') as {
  HTTPParser: { kOnHeadersComplete: number; kOnBody: number; RESPONSE: string }
}

interface HeadersInfo {
  statusCode: number
  shouldKeepAlive: boolean
}

export interface ConnectionTarget {
  protocol: 'http:' | 'https:'
  hostname: string
  port: number
  path: string
  method: string
  headers: Record<string, string>
  body?: string
  /** https only: how the certificate is verified and which client certificate is shown (PEM contents). */
  tls?: TargetTls
}

/**
 * What became of a request: a response status, a failure, or `dropped` when its socket was ready only
 * after the request's leave-by time (it never left).
 */
export type RequestOutcome = number | FailureKind | 'dropped'

export interface ConnectionOwner {
  connectionIdle(connection: AutocannonConnection): void
  /**
   * The request in flight left at `atMs` (performance.now()): its bytes were written to a connected
   * socket, or its connection attempt, made at `atMs`, failed before they could be.
   */
  requestLeft(connection: AutocannonConnection, atMs: number): void
  requestSettled(connection: AutocannonConnection, outcome: RequestOutcome): void
}

/** What one send makes: a request of the mix, rendered for this send. */
export interface SendCall {
  /** Its request's place in the mix (whose statistics it counts in). */
  request: number
  bytes: Buffer
  method: string
  /** Path and query as sent: a followed redirect's relative Location resolves against it. */
  path: string
  hasBody: boolean
  /** target.expect (or the request's own) and followRedirects; undefined: any 2xx, nothing else looked at. */
  expect: ResponseExpectation | undefined
}

/** A request the generator hands to a connection. */
interface OutgoingRequest {
  /** performance.now() at which the plan wanted it to leave; latency is measured from here. */
  intendedAt: number
  /** The window of its intended time. */
  windowIndex: number
  /** performance.now() after which it must not leave any more (its step's end plus the grace). */
  leaveBy: number
  call: SendCall
}

/** Disables autocannon's per-connection idle timer (seconds; setTimeout's upper bound is ~24.8 days). */
const disabledTimeoutS = 1_000_000

export class AutocannonConnection extends Client {
  // Declared, not initialised: autocannon's constructor calls our hooks before field initialisers run.
  declare owner: ConnectionOwner | undefined
  declare needsSocket: boolean
  declare reconnectAfterResponse: boolean
  /** Resolves reconnect()'s promise once the request in flight has settled (see reconnect). */
  declare moved: (() => void) | undefined
  declare opening: boolean
  declare busy: boolean
  declare pendingFailure: FailureKind | undefined
  /** Why the last TLS failure of this connection failed ("certificate has expired"). */
  declare tlsFailure: string | undefined
  /** Set from the response headers: the server will close, so the next request needs a new socket. */
  declare serverCloses: boolean
  /** Counts requests, so a callback can tell whether "the request in flight" is still the same one. */
  declare requestSeq: number
  /** The socket is connected (and, for https, past its handshake): a write leaves now. */
  declare socketReady: boolean
  /** The request in flight has left (see ConnectionOwner.requestLeft). */
  declare hasLeft: boolean
  /** Bookkeeping the generator attaches to the request in flight. */
  declare intendedAt: number
  /** When the request was handed over (performance.now()): its timeout counts from here. */
  declare sentAt: number
  declare windowIndex: number
  declare leaveBy: number
  /** The request in flight: its bytes, request line and what a good response is. */
  declare call: SendCall | undefined
  /** The request in flight's expectation (call.expect). */
  declare expect: ResponseExpectation | undefined
  declare target: ConnectionTarget
  /** Set when the request in flight checks its body: the current response's body is fed to it. */
  declare body: BodyMatcher | undefined
  /** One matcher per body text the mix checks for, reused from send to send. */
  declare bodyMatchers: Map<string, BodyMatcher>
  /** The current response's raw headers (set only when a header check or redirects need them). */
  declare responseHeaders: string[] | undefined
  /** followRedirects: the request line in flight, the hops taken, the bytes of the followed request. */
  declare line: RequestLine
  declare hops: number
  declare followBytes: Buffer | undefined
  /** A followed request waits for a new socket (the server closed after its redirect). */
  declare followPending: boolean
  declare origins: ReadonlySet<string>
  /** The target's own origin, the base a relative Location resolves against. */
  declare address: string

  constructor(target: ConnectionTarget, owner: ConnectionOwner) {
    super({ ...target, timeout: disabledTimeoutS, pipelining: 1 })
    // autocannon's idle timer: never rescheduled here (writeRequest skips _doRequest), so it would fire
    // disabledTimeoutS after the connection was made, however busy. The generator times requests out.
    this.timeoutTicker.clear()
    this.owner = owner
    this.target = target
    this.busy = false
    this.serverCloses = false
    this.reconnectAfterResponse = false
    this.requestSeq = 0
    this.bodyMatchers = new Map()
    this.watchResponseHeaders()
    this.watchResponseBody()
    // Each send may carry its own checks (a mix): the raw headers are kept for the response in hand.
    this.requestIterator.recordBody = (_request, _status, _body, rawHeaders) => {
      this.responseHeaders = rawHeaders
    }
    this.address = addressOf(target)
    this.origins = originsOf(target)
    this.resetLine()
    this.on('response', (status: number) => {
      // A server that said "Connection: close" gets a fresh socket for the next request.
      if (this.serverCloses) this.needsSocket = true
      const outcome = this.expect === undefined ? status : this.judge(status)
      if (outcome !== undefined) this.settle(outcome)
    })
    this.on('connError', (error: NodeJS.ErrnoException) => {
      this.pendingFailure = classifySocketError(error)
      if (this.pendingFailure === 'tls') this.tlsFailure = tlsFailureText(error)
    })
  }

  /**
   * Opens the socket ahead of the first send so the first requests do not pay the handshake.
   * Resolves once connected, or failed (the first send will then report why).
   */
  warm(): Promise<void> {
    if (this.needsSocket) this.openSocket()
    const socket = this.conn as unknown as import('node:net').Socket | undefined
    if (!socket || !socket.connecting) return Promise.resolve()
    return new Promise((resolve) => {
      // For https the handshake is only over at secureConnect.
      socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => resolve())
      socket.once('close', () => resolve())
    })
  }

  /** Sends `request` now when the socket is ready, else as soon as it is (if still before its leave-by time). */
  send(request: OutgoingRequest, now: number): void {
    const { call } = request
    this.call = call
    this.expect = call.expect
    this.body = call.expect?.bodyContains === undefined ? undefined : this.matcherFor(call.expect.bodyContains)
    this.line = { method: call.method, path: call.path, withBody: call.hasBody }
    this.busy = true
    this.requestSeq++
    this.hasLeft = false
    this.intendedAt = request.intendedAt
    this.sentAt = now
    this.windowIndex = request.windowIndex
    this.leaveBy = request.leaveBy
    if (this.needsSocket) this.openSocket()
    if (this.socketReady) this.write()
  }

  /**
   * Moves to a new socket: now when idle, after the request in flight otherwise. A fault that only
   * catches new connections (proxy delay) then reaches this connection's next requests too. Resolves
   * once no further request will go out on the old socket, so a caller can wait for the move before it
   * closes what the old socket goes through.
   */
  reconnect(): Promise<void> {
    // A destroyed connection sends nothing more (and settles nothing more): it has moved already.
    if (!this.busy || this.destroyed) {
      if (this.conn) this.closeSocket()
      return Promise.resolve()
    }
    this.reconnectAfterResponse = true
    const earlier = this.moved
    return new Promise((resolve) => {
      this.moved = () => {
        earlier?.()
        resolve()
      }
    })
  }

  /** Gives up on the request in flight (the generator's timeout) and drops the socket. */
  abandon(kind: FailureKind): void {
    if (!this.busy) return
    this.closeSocket()
    this.settle(kind)
    this.owner?.connectionIdle(this)
  }

  override destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.timeoutTicker.clear()
    this.closeSocket()
    this.settleMove()
  }

  override _connect(): void {
    // autocannon calls this after a socket error, after the server closed, and from its constructor.
    this.needsSocket = true
    this.socketReady = false
    const seq = this.requestSeq
    const failure = this.pendingFailure
    this.pendingFailure = undefined
    // A clean close can end a response whose body runs until the close (no Content-Length).
    // Completing it may already start the next request on a new socket: hence the sequence check.
    if (this.busy && failure === undefined && this.parser.state === 'BODY_RAW') this.parser.finish()
    if (this.busy && this.requestSeq === seq) this.settle(failure ?? 'reset')
    if (!this.busy && !this.destroyed) this.owner?.connectionIdle(this)
  }

  override _doRequest(): void {
    // autocannon calls this when the previous response completed (and from inside its own connect).
    if (this.opening || this.destroyed) return
    this.owner?.connectionIdle(this)
  }

  private openSocket(): void {
    this.closeSocket()
    // autocannon keeps one parser per client: a response cut off on the old socket must not be
    // continued with the new socket's bytes.
    this.parser.initialize(HTTPParser.RESPONSE)
    this.serverCloses = false
    this.needsSocket = false
    this.opening = true
    try {
      if (this.target.protocol === 'https:') this.connectTls()
      else Client.prototype._connect.call(this)
    } finally {
      this.opening = false
    }
    const socket = this.conn as unknown as Socket
    socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => {
      if (this.conn === (socket as unknown) && !this.destroyed) this.socketIsReady()
    })
  }

  /**
   * autocannon's _connect for https, with verification: the same listeners (a socket error or end
   * goes to _connect, which settles the request in flight; data goes to the parser) and the same
   * closing call to _doRequest.
   */
  private connectTls(): void {
    const socket = tlsConnect(tlsConnectOptions(this.target))
    this.conn = socket
    socket.on('error', (error: Error) => {
      this.emit('connError', error)
      if (!this.destroyed) this._connect()
    })
    socket.on('data', (chunk: Buffer) => {
      this.pipelinedRequests.addByteCount(chunk.length)
      this.parser.execute(chunk)
    })
    socket.on('end', () => {
      if (!this.destroyed) this._connect()
    })
    this._doRequest()
  }

  private socketIsReady(): void {
    this.socketReady = true
    if (this.busy && this.followPending) {
      this.followPending = false
      this.writeRequest()
      return
    }
    if (!this.busy || this.hasLeft) return
    if (performance.now() > this.leaveBy) {
      // Connected too late: the request would leave after its step's end (plus the grace).
      this.settle('dropped')
      this.owner?.connectionIdle(this)
    } else this.write()
  }

  private write(): void {
    this.hasLeft = true
    // autocannon writes the request synchronously (net.Socket.write on a connected socket hands the
    // bytes to the kernel at once): it leaves now.
    this.owner?.requestLeft(this, performance.now())
    this.writeRequest()
  }

  /**
   * What autocannon's _doRequest does that this connection needs: queue the request for its response
   * parser and write its bytes (synchronously, on a connected socket). Left out: its request iterator
   * (which deep-clones a context per request), its 'request' event and its per-request timeout timer
   * (disabled here): together ~5% of a request's CPU at full speed.
   */
  private writeRequest(): void {
    this.pipelinedRequests.insertRequest(this.requestIterator.currentRequest)
    this.conn!.write(this.getRequestBuffer())
  }

  /** autocannon writes what this answers: the send's own bytes, or a followed redirect's. */
  override getRequestBuffer(): Buffer {
    return this.followBytes ?? this.call!.bytes
  }

  private matcherFor(text: string): BodyMatcher {
    let matcher = this.bodyMatchers.get(text)
    if (!matcher) this.bodyMatchers.set(text, (matcher = new BodyMatcher(text)))
    return matcher
  }

  /**
   * The outcome of a complete response under target.expect, or undefined when it is a redirect being
   * followed (the request stays in flight). Checks judge only a response whose status is a success: any
   * other is an error of its status, as without checks.
   */
  private judge(status: number): RequestOutcome | undefined {
    const expect = this.expect!
    const rawHeaders = this.responseHeaders ?? []
    this.responseHeaders = undefined
    if (expect.followRedirects && isRedirectStatus(status)) {
      const location = headerValues(rawHeaders, 'location')[0]
      if (location !== undefined) {
        const next = redirectRequest(status, location, this.line, new URL(this.line.path, this.address), this.origins)
        // Another origin cannot be reached on this connection; a sixth hop is a loop or close to one.
        if (next === undefined || this.hops >= maxRedirectHops) return 'check'
        this.follow(next)
        return undefined
      }
    }
    if (!isExpectedStatus(status, expect.status)) return status
    if (this.body !== undefined && !this.body.found) return 'check'
    if (expect.header !== undefined && !headersMatch(expect.header, rawHeaders)) return 'check'
    return status
  }

  /** Sends `next` on this connection (a new socket when the server closed after its redirect). */
  private follow(next: RequestLine): void {
    this.hops++
    this.line = next
    this.followBytes = followedBytes(this.call!.bytes, next)
    if (this.needsSocket) {
      this.followPending = true
      this.openSocket()
    } else this.writeRequest()
  }

  /** Back to the send's own request line, before any redirect was followed. */
  private resetLine(): void {
    this.line = this.call
      ? { method: this.call.method, path: this.call.path, withBody: this.call.hasBody }
      : { method: this.target.method, path: this.target.path, withBody: this.target.body !== undefined }
    this.hops = 0
    this.followBytes = undefined
    this.followPending = false
  }

  private closeSocket(): void {
    if (this.conn) this._destroyConnection()
    this.conn = undefined
    this.needsSocket = true
    this.socketReady = false
  }

  /**
   * Wraps autocannon's headers callback: remembers whether the server keeps the connection, and tells
   * the parser that HEAD, 204 and 304 responses have no body (autocannon would wait for one forever).
   */
  private watchResponseHeaders(): void {
    const original = this.parser[HTTPParser.kOnHeadersComplete] as (info: HeadersInfo) => void
    this.parser[HTTPParser.kOnHeadersComplete] = (info: HeadersInfo): boolean => {
      original(info)
      this.serverCloses = !info.shouldKeepAlive
      // The body matcher starts afresh with each response (a followed redirect's included).
      this.body?.reset()
      return this.line.method === 'HEAD' || info.statusCode === 204 || info.statusCode === 304
    }
  }

  /**
   * The body goes to the request's body check when it has one, and nowhere otherwise: autocannon would
   * build every body into a string that nothing reads.
   */
  private watchResponseBody(): void {
    this.parser[HTTPParser.kOnBody] = (chunk: Buffer, start: number, length: number): void =>
      this.body?.feed(chunk, start, length)
  }

  /** The move asked for while a request was in flight is done: the next request takes a new socket. */
  private settleMove(): void {
    if (this.reconnectAfterResponse) this.needsSocket = true
    this.reconnectAfterResponse = false
    const moved = this.moved
    this.moved = undefined
    moved?.()
  }

  private settle(outcome: RequestOutcome): void {
    if (!this.busy) return
    this.busy = false
    if (this.hops > 0 || this.followPending) this.resetLine()
    this.settleMove()
    // A request whose connection failed (or timed out) before it could be written left as a
    // connection attempt, when it was handed over.
    if (outcome !== 'dropped' && !this.hasLeft) {
      this.hasLeft = true
      this.owner?.requestLeft(this, this.sentAt)
    }
    this.owner?.requestSettled(this, outcome)
  }
}

/** The Host the requests carry: the scenario's own, or the URL's host (connectionTargetFor sets it). */
export function hostOf(target: ConnectionTarget): string {
  const name = Object.keys(target.headers).find((key) => key.toLowerCase() === 'host')
  const hostname = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname
  return name !== undefined ? target.headers[name]! : `${hostname}:${target.port}`
}

/** The target's origin by address (hostname and port come from a parsed URL: this always parses). */
function addressOf(target: ConnectionTarget): string {
  const hostname = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname
  return new URL(`${target.protocol}//${hostname}:${target.port}`).origin
}

/**
 * The origins a redirect may stay on: the target's address, and the origin its Host header names (a
 * server builds absolute Locations from Host); both are this connection's peer.
 */
function originsOf(target: ConnectionTarget): ReadonlySet<string> {
  const origins = new Set([addressOf(target)])
  try {
    origins.add(new URL(`${target.protocol}//${hostOf(target)}`).origin)
  } catch {
    // A Host that is not an authority names no origin of its own.
  }
  return origins
}

export function classifySocketError(error: NodeJS.ErrnoException): FailureKind {
  // Certificate refused, handshake failed or alerted by the server: its own class, never a reset.
  if (isTlsErrorCode(error.code)) return 'tls'
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset'
    case 'ETIMEDOUT':
      return 'timeout'
    default:
      return 'other'
  }
}
