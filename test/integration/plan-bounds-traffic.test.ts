import { leaveGraceMs, type WindowReport } from '@gauntlet/contracts'
import { mergeEncoded, summarizeLatency } from '@gauntlet/metrics'
import { LoadGenerator } from '@gauntlet/agent'
import { createServer as createHttpsServer } from 'node:https'
import { connect, createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterEach, describe, expect, it } from 'vitest'
import { startChildServer, type ChildServer } from '../helpers/child-server.js'
import { selfSignedCertificate } from '../helpers/self-signed.js'

/**
 * The plan bounds the traffic, and `sent` is what left, as counted by the server that received it.
 * The generator is overloaded on purpose: far more planned than 4 connections on 2 cores can carry, with
 * a 10 s request timeout (which used to let overdue sends go out up to 10 s late, after the step ended).
 */
const arrivalServer = new URL('../helpers/arrival-server.mjs', import.meta.url).pathname
const fixedLatencyServer = new URL('../helpers/fixed-latency-server.mjs', import.meta.url).pathname

/**
 * Allowed difference, per second, between a window's `sent` and the arrivals the server saw in that
 * second: sends within a few ms of a second boundary may be seen on the other side of it, because the
 * two processes' clocks are lined up to within about a millisecond and a request takes a fraction of a
 * millisecond to arrive and be parsed (4 connections: at most 4 requests queue at the server). 1% of a
 * second's count is 10 ms worth of sends; the 20 absorbs a scheduling hiccup on a shared machine.
 */
const perSecondTolerance = (count: number): number => 20 + 0.01 * count

/** How much later than its send an arrival may be stamped (loopback, a lightly queued server). */
const arrivalSlackMs = 10

interface Observed {
  windows: WindowReport[]
  /** Arrival times in ms since the generator's second 0. */
  arrivals: number[]
  /** When the run resolved, in ms since its second 0. */
  endedMs: number
}

async function overload(
  server: ChildServer,
  steps: Array<{ rps: number; durationS: number; step: number }>,
): Promise<Observed> {
  const url = new URL(server.url)
  const windows: WindowReport[] = []
  let startEpochMs = 0
  await new LoadGenerator({
    target: {
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      method: 'GET',
      headers: {},
    },
    steps,
    timeoutMs: 10_000,
    connections: 4,
    maxConnections: 4,
  }).run({
    // Sub-millisecond epoch time on the same basis as the arrival server's stamps.
    onStart: () => (startEpochMs = performance.timeOrigin + performance.now()),
    onWindow: (w) => windows.push(w),
  })
  const endedMs = performance.timeOrigin + performance.now() - startEpochMs
  const epochArrivals = (await (await fetch(`${server.url}/__epoch-arrivals`)).json()) as number[]
  return { windows, arrivals: epochArrivals.map((t) => t - startEpochMs), endedMs }
}

/** Arrivals per wall-clock second of the run; the last window's second extends through the grace. */
function arrivalsPerSecond(arrivals: number[], seconds: number): number[] {
  const counts = new Array<number>(seconds).fill(0)
  for (const t of arrivals) counts[Math.min(seconds - 1, Math.max(0, Math.floor(t / 1000)))]!++
  return counts
}

function expectSentMatchesArrivals({ windows, arrivals }: Observed): void {
  const seen = arrivalsPerSecond(arrivals, windows.length)
  const sent = windows.map((w) => w.sent)
  console.log(`sent per second ${sent.join(' ')}; server saw ${seen.join(' ')}`)
  expect(sent.reduce((a, b) => a + b, 0)).toBe(arrivals.length)
  windows.forEach((w, i) => expect(Math.abs(w.sent - seen[i]!)).toBeLessThanOrEqual(perSecondTolerance(seen[i]!)))
}

/** The largest arrival time (a loop: tens of thousands of arrivals overflow the stack as spread arguments). */
function latest(arrivals: readonly number[]): number {
  let max = -Infinity
  for (const t of arrivals) if (t > max) max = t
  return max
}

describe('the plan bounds the traffic, and every window sent what the server received', () => {
  let server: ChildServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it(`an overloaded step stops sending at its end plus the grace, drops the \
rest, and ends without waiting for the timeout`, async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const observed = await overload(server, [{ rps: 200_000, durationS: 2, step: 0 }])
    const { windows, arrivals, endedMs } = observed
    const plannedEndMs = 2000

    expect(windows.map((w) => w.index)).toEqual([0, 1])
    expect(latest(arrivals)).toBeLessThanOrEqual(plannedEndMs + leaveGraceMs + arrivalSlackMs)
    // In-flight requests are answered within milliseconds here: the run ends long before the 10 s timeout.
    expect(endedMs).toBeLessThan(plannedEndMs + leaveGraceMs + 1000)
    for (const w of windows) {
      expect(w.dropped).toBeGreaterThan(0)
      expect(w.generatorLimited).toBe(true)
      expect(w.complete).toBe(true)
      expect(w.dispatched + w.dropped).toBe(w.planned)
    }
    expectSentMatchesArrivals(observed)
  })

  it(`an overloaded step's late sends count in the seconds they \
left, and none outlive the next step's plan`, async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const observed = await overload(server, [
      { rps: 100_000, durationS: 2, step: 0 },
      { rps: 200, durationS: 2, step: 1 },
    ])
    const { windows, arrivals } = observed

    expect(windows.map((w) => [w.index, w.step])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 1],
    ])
    expect(windows[0]!.dropped + windows[1]!.dropped).toBeGreaterThan(0)
    // Step 0's sends stop at 2 s plus the grace: after that only step 1's 400 sends may arrive.
    const afterStep0 = arrivals.filter((t) => t > 2000 + leaveGraceMs + arrivalSlackMs).length
    console.log(`arrivals after step 0's end plus the grace: ${afterStep0}`)
    expect(afterStep0).toBeLessThanOrEqual(400)
    expect(windows[2]!.dispatched).toBe(200)
    expect(windows[3]!.dropped).toBe(0)
    expect(latest(arrivals)).toBeLessThanOrEqual(4000 + leaveGraceMs + arrivalSlackMs)
    for (const w of windows) expect(w.dispatched + w.dropped).toBe(w.planned)
    expectSentMatchesArrivals(observed)
  })
})

describe('a scenario step split into entries (a replan mid-step) bounds the traffic at its own end', () => {
  let server: ChildServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it(`sends of the first entry that run late past its end, but not past the step's, still leave`, async () => {
    // One connection and a 150 ms service time carry about 6.7 of the first entry's 10 rps: at its end (2 s)
    // about 6 of its 20 sends are still waiting, and the last leaves near 2.85 s. The step (both entries)
    // ends at 4 s; the second entry's two sends follow by about 3.15 s.
    server = await startChildServer(process.execPath, [fixedLatencyServer, '150'])
    const url = new URL(server.url)
    const windows: WindowReport[] = []
    await new LoadGenerator({
      target: {
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        method: 'GET',
        headers: {},
      },
      steps: [
        { rps: 10, durationS: 2, step: 0 },
        { rps: 1, durationS: 2, step: 0 },
      ],
      timeoutMs: 10_000,
      connections: 1,
      maxConnections: 1,
    }).run({ onWindow: (w) => windows.push(w) })

    console.log(`split step: dispatched ${windows.map((w) => w.dispatched).join(' ')}, \
dropped ${windows.map((w) => w.dropped).join(' ')}, sent ${windows.map((w) => w.sent).join(' ')}`)
    expect(windows.map((w) => [w.index, w.step, w.planned])).toEqual([
      [0, 0, 10],
      [1, 0, 10],
      [2, 0, 1],
      [3, 0, 1],
    ])
    for (const w of windows) {
      expect(w.dropped).toBe(0)
      expect(w.dispatched).toBe(w.planned)
      expect(w.ok).toBe(w.planned)
    }
    // The first entry really ran late past its end: some of its sends left during the second entry.
    expect(windows[2]!.sent + windows[3]!.sent).toBeGreaterThan(2)
  })
})

describe('connections that are slow to open (an https target that closes every connection)', () => {
  const servers: Server[] = []
  const sockets = new Set<Socket>()
  const timers: NodeJS.Timeout[] = []
  afterEach(async () => {
    for (const timer of timers.splice(0)) clearTimeout(timer)
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    for (const server of servers.splice(0).reverse()) {
      if ('closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  const listen = async (server: Server): Promise<number> => {
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as { port: number }).port
  }

  /**
   * An https server that closes every connection after its answer (arrival times in `arrivals`), behind a
   * relay that holds each new connection for `holdMs` before passing its bytes on: every request on a new
   * connection waits that long for its TLS handshake.
   */
  async function slowHandshakeTarget(
    holdMs: number,
  ): Promise<{ port: number; arrivals: number[]; connections: () => number; ca: string }> {
    const arrivals: number[] = []
    const credentials = selfSignedCertificate()
    const https = createHttpsServer(credentials, (req, res) => {
      arrivals.push(performance.timeOrigin + performance.now())
      req.resume()
      res.setHeader('connection', 'close')
      res.end('ok')
    })
    const httpsPort = await listen(https)
    let connections = 0
    const relay = createTcpServer((client) => {
      connections++
      sockets.add(client)
      client.pause()
      client.on('error', () => {})
      const relayLater = (): void => {
        if (client.destroyed) return
        const upstream = connect(httpsPort, '127.0.0.1', () => {
          client.pipe(upstream).pipe(client)
          client.resume()
        })
        sockets.add(upstream)
        upstream.on('error', () => client.destroy())
        client.on('close', () => upstream.destroy())
      }
      timers.push(setTimeout(relayLater, holdMs))
    })
    return { port: await listen(relay), arrivals, connections: () => connections, ca: credentials.cert.toString() }
  }

  it(`a request whose connection is ready only after its step ended is dropped, not sent late: \
it never reaches the server and is counted in dropped`, async () => {
    // Every request after the first waits 400 ms for its TLS handshake.
    const { port, arrivals, connections, ca } = await slowHandshakeTarget(400)

    const windows: WindowReport[] = []
    let startEpochMs = 0
    await new LoadGenerator({
      target: {
        protocol: 'https:',
        hostname: '127.0.0.1',
        port,
        path: '/',
        method: 'GET',
        headers: {},
        // Verified, as every https target is: the server's self-signed certificate is the trusted CA.
        tls: { ca, insecure: false },
      },
      steps: [{ rps: 10, durationS: 1, step: 0 }],
      timeoutMs: 2000,
      connections: 1,
      maxConnections: 1,
    }).run({
      onStart: () => (startEpochMs = performance.timeOrigin + performance.now()),
      onWindow: (w) => windows.push(w),
    })

    const [window] = windows
    const last = latest(arrivals) - startEpochMs
    console.log(
      `slow handshakes: ${arrivals.length} arrived (last ${last.toFixed(0)} ms), ${connections()} connections, ` +
        `window sent ${window!.sent} dropped ${window!.dropped}`,
    )
    expect(window!.sent).toBe(arrivals.length)
    expect(window!.dispatched + window!.dropped).toBe(10)
    expect(window!.dropped).toBeGreaterThan(0)
    expect(last).toBeLessThanOrEqual(1000 + leaveGraceMs + arrivalSlackMs)
    // One connection per request that left, and one more for the request whose handshake ended too late.
    expect(connections()).toBe(arrivals.length + 1)
  })

  it(`a handshake is the target's time, not a late send: in the latency, never generator-limited`, async () => {
    // A 40 ms handshake on every request, at a rate one connection could nearly carry alone: the client
    // hands every request over on time (to a new connection when none is free). Each then waits for its
    // handshake, which is the target's and the network's time, so twice lateSendMs of it is no late send.
    const holdMs = 40
    const { port, arrivals, ca } = await slowHandshakeTarget(holdMs)

    const windows: WindowReport[] = []
    await new LoadGenerator({
      target: {
        protocol: 'https:',
        hostname: '127.0.0.1',
        port,
        path: '/',
        method: 'GET',
        headers: {},
        tls: { ca, insecure: false },
      },
      steps: [{ rps: 20, durationS: 3, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 10,
    }).run({ onWindow: (w) => windows.push(w) })

    const latency = summarizeLatency(mergeEncoded(windows.map((w) => w.latency)))
    console.log(
      `${holdMs} ms handshakes: lateSends ${windows.map((w) => w.lateSends).join(' ')}, maxSendLagMs ` +
        `${windows.map((w) => w.maxSendLagMs).join(' ')}, p50 ${latency.p50Ms} ms, ${arrivals.length} arrived`,
    )
    expect(arrivals.length).toBe(60)
    for (const w of windows) {
      expect(w.dropped).toBe(0)
      expect(w.ok).toBe(20)
      expect(w.lateSends).toBe(0)
      expect(w.generatorLimited).toBe(false)
    }
    // Latency is measured from the intended time, so it includes the handshake (all but the first request,
    // which had a warm connection, pay it).
    expect(latency.p50Ms).toBeGreaterThanOrEqual(holdMs)
  })
})
