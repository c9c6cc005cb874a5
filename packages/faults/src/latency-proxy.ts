/**
 * Proxy-mode delay: a TCP proxy that holds every client→upstream chunk for latency ± jitter before
 * forwarding it, for kernels without sch_netem. Only one direction is delayed, so a request/response
 * exchange pays the latency once, as netem on the target's ingress would. Unlike netem it delays data
 * chunks, not packets: the TCP handshake and ACKs are not delayed (reports say which mechanism ran).
 */
import net from 'node:net'
import { performance } from 'node:perf_hooks'

export interface LatencyProxyOptions {
  listenHost: string
  listenPort: number
  upstreamHost: string
  upstreamPort: number
  /** Added to every client→upstream chunk, in ms. */
  latencyMs: number
  /** Uniform ± spread around latencyMs, in ms; a delay never goes below 0. */
  jitterMs: number
  /** Source of [0, 1) values for the jitter (default Math.random); tests pass a fixed sequence. */
  random?: () => number
}

export interface LatencyProxyStats {
  /** Client connections accepted since start. */
  connections: number
  /** Client→upstream bytes forwarded after their delay. */
  bytesDelayed: number
}

export interface LatencyProxy {
  /** The port actually listened on (useful with listenPort 0). */
  port: number
  /** Stops listening, destroys open connections and clears their timers. */
  close(): Promise<void>
  /**
   * Stops listening and lets open connections finish. For the first `graceMs` it only waits: a client
   * that was told to move (the run reconnects its own pool) closes its side itself, which races no
   * request. After that, each connection still open is ended gracefully between two requests (see
   * Relay.betweenRequests), so keep-alive clients reconnect (straight to the service, past the bypass)
   * instead of failing; whatever is still open after `maxMs` is destroyed.
   */
  drain(idleMs: number, maxMs: number, graceMs?: number): Promise<void>
  stats(): LatencyProxyStats
}

/** Chunks due this close together leave on one timer: timers are only millisecond-accurate anyway. */
const coalesceMs = 1
/**
 * Per-connection cap on bytes held back. Above it the client is paused, so a fast sender meets TCP
 * back-pressure instead of growing our memory; at 200 ms it still allows ~20 MiB/s per connection.
 */
const maxHeldBytes = 4 * 1024 * 1024

export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  checkOptions(options)
  const random = options.random ?? Math.random
  const delayMs = (): number => Math.max(0, options.latencyMs + (random() * 2 - 1) * options.jitterMs)
  const totals: LatencyProxyStats = { connections: 0, bytesDelayed: 0 }
  const relays = new Set<Relay>()

  // Half-open on both sides: a client that ends its requests still reads the responses.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    totals.connections++
    const relay = new Relay(
      client,
      options,
      delayMs,
      (bytes) => (totals.bytesDelayed += bytes),
      () => relays.delete(relay),
    )
    relays.add(relay)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.listenPort, options.listenHost, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // After listening, an accept error (EMFILE, say) must not crash the process that owns the cleanup.
  server.on('error', () => {})

  return {
    port: (server.address() as net.AddressInfo).port,
    stats: () => ({ ...totals }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const relay of relays) relay.destroy()
        relays.clear()
      }),
    drain: (idleMs, maxMs, graceMs = 0) =>
      new Promise<void>((resolve) => {
        server.close()
        const started = performance.now()
        const until = started + maxMs
        const check = (): void => {
          if (performance.now() - started >= graceMs)
            for (const relay of relays) if (relay.betweenRequests(idleMs)) relay.end()
          if (relays.size === 0) return resolve()
          if (performance.now() >= until) {
            for (const relay of relays) relay.destroy()
            relays.clear()
            return resolve()
          }
          setTimeout(check, 25)
        }
        check()
      }),
  }
}

function checkOptions(options: LatencyProxyOptions): void {
  const port = (value: number, min: number): boolean => Number.isInteger(value) && value >= min && value <= 65535
  if (!port(options.listenPort, 0))
    throw new RangeError(`listenPort must be an integer in 0..65535, got ${options.listenPort}`)
  if (!port(options.upstreamPort, 1))
    throw new RangeError(`upstreamPort must be an integer in 1..65535, got ${options.upstreamPort}`)
  for (const key of ['latencyMs', 'jitterMs'] as const) {
    if (!Number.isFinite(options[key]) || options[key] < 0)
      throw new RangeError(`${key} must be a number ≥ 0, got ${options[key]}`)
  }
}

/** A chunk waiting for its due time; `null` is the client's end (FIN), delayed like data. */
interface Held {
  dueAt: number
  chunk: Buffer | null
}

/** One client connection and its upstream connection. */
class Relay {
  private readonly upstream: net.Socket
  /** FIFO with a moving head; due times never decrease along it, so bytes keep their order. */
  private held: Array<Held | undefined> = []
  private head = 0
  private heldBytes = 0
  private lastDueAt = 0
  private timer: NodeJS.Timeout | undefined
  private upstreamBlocked = false
  private openSockets = 2
  private lastFromClient = performance.now()
  private lastFromUpstream = 0

  constructor(
    private readonly client: net.Socket,
    options: LatencyProxyOptions,
    private readonly delayMs: () => number,
    private readonly delivered: (bytes: number) => void,
    private readonly closed: () => void,
  ) {
    const upstream = net.connect({ host: options.upstreamHost, port: options.upstreamPort, allowHalfOpen: true })
    this.upstream = upstream
    // The proxy decides when bytes leave; Nagle (with delayed ACKs) would add up to 40 ms of its own.
    client.setNoDelay(true)
    upstream.setNoDelay(true)

    client.on('data', (chunk: Buffer) => {
      this.lastFromClient = performance.now()
      this.hold(chunk)
    })
    client.on('end', () => this.hold(null))
    upstream.on('drain', () => {
      this.upstreamBlocked = false
      this.updateFlow()
    })

    // upstream→client is not delayed; only back-pressure applies.
    upstream.on('data', (chunk: Buffer) => {
      this.lastFromUpstream = performance.now()
      if (!client.writable) return
      if (!client.write(chunk) && !upstream.isPaused()) {
        upstream.pause()
        client.once('drain', () => upstream.resume())
      }
    })
    upstream.on('end', () => client.end())

    // A failure on one side (refused, reset, timed out) ends the other abruptly too, as a reset, so the
    // client sees what it would have seen without the proxy in between.
    client.on('error', () => abort(upstream))
    upstream.on('error', () => abort(client))
    client.once('close', () => this.socketClosed())
    upstream.once('close', () => {
      // Nothing held can be delivered any more.
      this.dropHeld()
      this.socketClosed()
    })
  }

  destroy(): void {
    this.dropHeld()
    this.client.destroy()
    this.upstream.destroy()
  }

  /**
   * Between requests: nothing held back, and either the service answered after the client last sent
   * (a keep-alive connection right after its response) and has been quiet for a few ms, or neither
   * side has sent for `idleMs`. Ending it then races no request.
   */
  betweenRequests(idleMs: number): boolean {
    if (this.head < this.held.length) return false
    const now = performance.now()
    const answered = this.lastFromUpstream > this.lastFromClient && now - this.lastFromUpstream >= 5
    return answered || now - Math.max(this.lastFromClient, this.lastFromUpstream) >= idleMs
  }

  /** A graceful close of both sides (used when draining an idle connection). */
  end(): void {
    this.client.end()
    this.upstream.end()
  }

  private hold(chunk: Buffer | null): void {
    const dueAt = Math.max(performance.now() + this.delayMs(), this.lastDueAt)
    this.lastDueAt = dueAt
    this.held.push({ dueAt, chunk })
    if (chunk) {
      this.heldBytes += chunk.length
      this.updateFlow()
    }
    // Due times are monotonic, so only an empty queue needs a new timer.
    if (this.timer === undefined) this.arm()
  }

  private arm(): void {
    const next = this.held[this.head]
    if (next === undefined) return
    this.timer = setTimeout(() => this.release(), Math.max(0, Math.ceil(next.dueAt - performance.now())))
  }

  private release(): void {
    this.timer = undefined
    // A timer may fire up to a millisecond early by the monotonic clock; anything not due yet waits.
    const horizon = performance.now() + coalesceMs
    for (let next = this.held[this.head]; next !== undefined && next.dueAt <= horizon; next = this.held[this.head]) {
      this.held[this.head++] = undefined
      if (this.upstream.destroyed) continue
      if (next.chunk === null) {
        this.upstream.end()
        continue
      }
      this.heldBytes -= next.chunk.length
      this.delivered(next.chunk.length)
      if (!this.upstream.write(next.chunk)) this.upstreamBlocked = true
    }
    if (this.head === this.held.length) {
      this.held = []
      this.head = 0
    } else if (this.head > 1024) {
      this.held = this.held.slice(this.head)
      this.head = 0
    }
    this.updateFlow()
    this.arm()
  }

  /** Pauses the client while upstream is full or too much is held; resumes once neither is true. */
  private updateFlow(): void {
    const stop = this.upstreamBlocked || this.heldBytes > maxHeldBytes
    if (stop && !this.client.isPaused()) this.client.pause()
    else if (!stop && this.client.isPaused() && !this.client.destroyed) this.client.resume()
  }

  private dropHeld(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.held = []
    this.head = 0
    this.heldBytes = 0
  }

  private socketClosed(): void {
    if (--this.openSockets === 0) {
      this.dropHeld()
      this.closed()
    }
  }
}

/** Ends a socket with a TCP reset where there is a connection to reset. */
function abort(socket: net.Socket): void {
  if (socket.destroyed) return
  if (socket.connecting) socket.destroy()
  else socket.resetAndDestroy()
}
