#!/usr/bin/env node
// `npm run bench` (second part): the controller's side of distributed runs, with simulated agents.
//
// A real controller process (`gauntlet controller --agents remote`, temporary SQLite db) and N simulated
// agents in this process (each its own node:http server on loopback, heartbeating every second over
// the real protocol). Two measurements per N, each beside a peer that runs in its own process too:
//
//  - ingest: on its assignment every agent pushes all its windows at once, one report per request and
//    one request in flight per agent (as the real agent's link does), without waiting for real time.
//    Measured from the first report sent to the last merged window on the run's SSE stream:
//    agent-windows ingested per second (N x windows / s) and merged windows stored per second.
//    Peer: the same agents pushing the same bodies at a bare node:http server that JSON.parses them,
//    counts the windows of each second and writes an SSE event once all N arrived (HTTP+JSON+SSE floor).
//  - lag: a real-time run; every agent posts window i at startAt + (i+1) s. Lag of each merged window
//    on the SSE stream after the last agent's POST for that second (and after the second's nominal end).
//    Peer: the same bare server.
// During the ingest push, GET /healthz is polled every ~10 ms from a thread of its own (this process's loop
// lags under the push; a prober outside the agents would not).
// Then two in-process floors for what the controller must do per merged window: merging N encoded
// HDR histograms (the controller's own mergeEncoded) and one SQLite row per transaction (WAL,
// synchronous=FULL, as the controller's store).
//
// Prints ratios (the machine is shared and noisy); no pass/fail. Every wait is bounded in time and count.
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createLatencyHistogram, encodeHistogram, mergeEncoded, recordLatencyUs } from '@gauntlet/metrics'
import { RequestVerifier, sha256Hex, signRequest } from '@gauntlet/http'

const secret = 'bench-agent-secret'
/** Windows per report the controller takes (AgentReportSchema's maxItems). */
const maxWindowsPerReport = 20

/** Whether a request was signed with `secret` over this body, as controller and agents check each other's. */
function signedBy(verifier, req, body) {
  try {
    return verifier.verifyHeaders(req.method, req.headers.host ?? '', req.url, req.headers) === sha256Hex(body)
  } catch {
    return false
  }
}

/** node:http headers for a request signed with `secret` (the secret itself never travels). */
function signedHeaders(method, url, body) {
  return { 'content-type': 'application/json', ...signRequest(secret, method, url, body) }
}
const gauntletBin = fileURLToPath(new URL('../apps/controller/bin/gauntlet.js', import.meta.url))
const thisFile = fileURLToPath(import.meta.url)

// ---------------------------------------------------------------------------------------------
// The bare peer: its own process, so its event loop is not ours (like the controller's).
// ---------------------------------------------------------------------------------------------
function bareServer() {
  let expected = 0
  let total = 0
  let counts = new Map()
  let next = 0
  const clients = new Set()
  const verifier = new RequestVerifier(secret)
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write('event: status\ndata: {"status":"running"}\n\n')
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      let body
      let raw
      try {
        raw = Buffer.concat(chunks)
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        res.writeHead(400).end()
        return
      }
      if (req.method === 'PUT' && /^\/api\/agents\/[^/]+$/.test(req.url)) {
        // A heartbeat: signed, parsed, answered with the time (what the controller's reply carries).
        if (!signedBy(verifier, req, raw)) {
          res.writeHead(401).end()
          return
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ controllerTime: Date.now(), runs: body.runs }))
        return
      }
      if (req.method === 'POST' && req.url === '/config') {
        expected = body.agents
        total = body.windows
        counts = new Map()
        next = 0
        res.writeHead(204).end()
        return
      }
      if (req.method === 'POST' && /^\/api\/agents\/[^/]+\/reports$/.test(req.url)) {
        if (!signedBy(verifier, req, raw)) {
          res.writeHead(401).end()
          return
        }
        for (const w of body.windows) counts.set(w.index, (counts.get(w.index) ?? 0) + 1)
        while (next < total && counts.get(next) === expected) {
          const data = JSON.stringify({ index: next, agents: expected })
          for (const c of clients) c.write(`event: window\ndata: ${data}\n\n`)
          counts.delete(next)
          next++
        }
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: body.windows.length }))
        return
      }
      res.writeHead(404).end()
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}`))
  // The parent closes our stdin when it ends, however it ends.
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
const children = new Set()
const cleanups = []

/** A server in its own process; resolves once it prints `listening <url>`. */
async function startChild(args, env, limitMs = 15_000) {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let stderr = ''
  child.stderr.on('data', (c) => (stderr += c))
  const lines = []
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')}: no "listening" line within ${limitMs} ms: ${stderr}`)),
      limitMs,
    )
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      const m = /listening (\S+)/.exec(line)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`))
    })
  })
  return {
    url: url.replace(/\/+$/, ''),
    child,
    lines,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.stdin.end()
      child.kill('SIGTERM')
      // A profiled controller writes its profile as it exits: give it time.
      const timer = setTimeout(() => child.kill('SIGKILL'), process.env.BENCH_CPU_PROF ? 20_000 : 3000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * CPU seconds (user+system) a process has used so far, from /proc (undefined elsewhere); with `thread`, that
 * thread's only (its main thread: the pid).
 */
function cpuSeconds(pid, thread) {
  try {
    const file = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`
    const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/**
 * The kernel's count of connections dropped at a full listen queue (TcpExt ListenOverflows, what `nstat` shows),
 * machine-wide: a client whose handshake was dropped retries its SYN after 1 s. Undefined where /proc has none.
 */
function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n')
    const header = lines.findIndex((line) => line.startsWith('TcpExt:'))
    const at = lines[header].split(' ').indexOf('ListenOverflows')
    return at > 0 ? Number(lines[header + 1].split(' ')[at]) : undefined
  } catch {
    return undefined
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `test` every `everyMs` until it returns a truthy value; throws after `limitMs`. */
async function until(what, test, limitMs, everyMs = 50) {
  const deadline = Date.now() + limitMs
  for (;;) {
    const value = await test()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Reads an SSE stream; onEvent(event, data, arrivedAtMs) for each event. */
function openSse(url, onEvent) {
  const abort = new AbortController()
  let firstEvent
  const first = new Promise((resolve) => (firstEvent = resolve))
  const done = (async () => {
    const res = await fetch(url, { signal: abort.signal })
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body) {
      const at = Date.now()
      buffer += decoder.decode(chunk, { stream: true })
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (!event || !data) continue
        firstEvent()
        onEvent(event, JSON.parse(data), at)
      }
    }
  })().catch((error) => {
    if (!abort.signal.aborted) throw error
  })
  done.catch(() => firstEvent())
  return { first, done, close: () => abort.abort() }
}

const quantile = (sorted, q) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
const row = (cells, widths) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')

// ---------------------------------------------------------------------------------------------
// Realistic windows: real encoded HDR histograms of 480-500 latencies each, 32 different shapes.
// ---------------------------------------------------------------------------------------------
const perAgentRps = 500
const histogramPool = (() => {
  let seed = 42
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const gauss = () => Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random())
  const pool = []
  for (let k = 0; k < 32; k++) {
    const errors = k % 4 === 3 ? 1 + (k % 7) : 0
    const ok = perAgentRps - errors
    const medianUs = 1500 + k * 400
    const h = createLatencyHistogram()
    for (let i = 0; i < ok; i++)
      recordLatencyUs(h, random() < 0.01 ? medianUs * (5 + 20 * random()) : medianUs * Math.exp(0.4 * gauss()))
    pool.push({ latency: encodeHistogram(h), ok, errors })
  }
  return pool
})()

function windowOf(agentIndex, index, startAt) {
  const h = histogramPool[(agentIndex * 7 + index) % histogramPool.length]
  return {
    index,
    step: 0,
    startedAt: startAt + index * 1000 + (agentIndex % 7),
    planned: perAgentRps,
    sent: perAgentRps,
    dispatched: perAgentRps,
    dropped: 0,
    ok: h.ok,
    errors: { status: h.errors ? { 503: h.errors } : {}, timeout: 0, refused: 0, reset: 0, other: 0 },
    latency: h.latency,
    lateSends: 0,
    maxSendLagMs: 1.5 + (index % 3),
    generatorLimited: false,
    complete: true,
    openConnections: 20,
  }
}

const reportBody = (runId, windows, done) =>
  JSON.stringify({ runId, windows, ...(done ? { done: { aborted: false, peakConnections: 20 } } : {}) })

// ---------------------------------------------------------------------------------------------
// Simulated agents
// ---------------------------------------------------------------------------------------------
const stats = { heartbeatsFailed: 0, heartbeatsSlow: 0, replans: 0, stops: 0 }
/** When (epoch ms) the agents first saw a heartbeat fail or answered late, and a replan, in this measurement. */
let firsts = {}
/**
 * Round trips (ms) of the heartbeats sent in this measurement, to the controller (which the agents always
 * beat) and, during a peer measurement, to the peer too; one that failed or timed out counts as its time
 * to fail (>= 1000 ms for a timeout), so the p99 cannot hide it.
 */
let heartbeatRtts = []
let peerHeartbeatRtts = []
/** While set, every heartbeat is also sent to this peer (the side-by-side row); the controller still gets its own. */
let heartbeatPeerUrl

class SimAgent {
  constructor(index) {
    this.index = index
    this.name = `sim-${String(index).padStart(3, '0')}`
    this.active = new Set()
    this.beating = false
    this.onAssignment = undefined
    // Its own connections, as a real agent (its own process) has: reports and heartbeats share them. One pool
    // for all 200 made every heartbeat burst open new connections while the reports held the idle ones
    // (beyond maxFreeSockets the rest were closed), and under load the server took up to a second to
    // take up a new connection: the heartbeats measured the bench's connection churn.
    this.http = new HttpAgent({ keepAlive: true, maxSockets: Infinity })
    this.verifier = new RequestVerifier(secret)
  }

  async listen() {
    this.server = createServer((req, res) => this.handle(req, res))
    this.server.keepAliveTimeout = 60_000
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    this.url = `http://127.0.0.1:${this.server.address().port}/`
  }

  handle(req, res) {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const reply = (code, body) =>
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}))
      const raw = Buffer.concat(chunks)
      if (!signedBy(this.verifier, req, raw)) return reply(401, { detail: 'not signed with the agent secret' })
      const body = chunks.length ? JSON.parse(raw.toString('utf8')) : undefined
      if (req.method === 'POST' && req.url === '/assignments') {
        this.active.add(body.runId)
        reply(202, { accepted: true })
        this.onAssignment?.(this, body)
        return
      }
      if (req.method === 'PUT' && /^\/assignments\/[^/]+\/plan$/.test(req.url)) {
        stats.replans++
        firsts.replan ??= Date.now()
        return reply(200, { accepted: true })
      }
      if (req.method === 'DELETE' && /^\/assignments\/[^/]+$/.test(req.url)) {
        stats.stops++
        this.active.delete(decodeURIComponent(req.url.split('/')[2]))
        return reply(202, { stopping: true })
      }
      reply(404, { detail: 'no route' })
    })
  }

  /** Heartbeats as the real agent does: every second, each with a 1 s time limit. */
  startHeartbeat(controllerUrl) {
    if (this.beating) return
    this.beating = true
    const body = () =>
      JSON.stringify({ url: this.url, capacityRps: perAgentRps * 2, runs: [...this.active], version: 'bench' })
    const toPeer = async (peerUrl) => {
      const sentAt = Date.now()
      const url = `${peerUrl}/api/agents/${this.name}`
      const text = body()
      try {
        await send('PUT', url, signedHeaders('PUT', url, text), text, 1000, this.http)
      } finally {
        peerHeartbeatRtts.push(Date.now() - sentAt)
      }
    }
    const beat = async () => {
      if (!this.beating) return
      const sentAt = Date.now()
      const peer = heartbeatPeerUrl ? toPeer(heartbeatPeerUrl).catch(() => undefined) : undefined
      try {
        const url = `${controllerUrl}/api/agents/${this.name}`
        const text = body()
        const res = await send('PUT', url, signedHeaders('PUT', url, text), text, 1000, this.http)
        heartbeatRtts.push(Date.now() - sentAt)
        if (process.env.BENCH_TRACE && Date.now() - sentAt > 300)
          console.log(`    trace heartbeat ${this.name}: ${Date.now() - sentAt} ms, sent at ${sentAt}`)
        if (res.status !== 200) stats.heartbeatsFailed++
        else if (Date.now() - sentAt > 500) stats.heartbeatsSlow++
        if (res.status !== 200 || Date.now() - sentAt > 500) firsts.heartbeatTrouble ??= Date.now()
      } catch {
        heartbeatRtts.push(Date.now() - sentAt)
        stats.heartbeatsFailed++
        firsts.heartbeatTrouble ??= Date.now()
      }
      await peer
      if (this.beating) this.timer = setTimeout(beat, Math.max(0, sentAt + 1000 - Date.now()))
    }
    void beat()
  }

  async close() {
    this.beating = false
    clearTimeout(this.timer)
    this.server?.closeAllConnections?.()
    this.http.destroy()
    await new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }
}

/**
 * Reports and heartbeats go through node:http with keep-alive rather than fetch: fetch costs this process
 * more CPU per request than the servers measured here, and this process is the client of both. Each
 * simulated agent has its own pool (SimAgent.http); this one is the bench's own (GET /healthz).
 */
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: Infinity })

function send(method, url, headers, body, timeoutMs, agent) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

async function postReport(baseUrl, agent, body, outcome) {
  try {
    const url = `${baseUrl}/api/agents/${agent.name}/reports`
    const res = await send('POST', url, signedHeaders('POST', url, body), body, 5000, agent.http)
    outcome.statuses[res.status] = (outcome.statuses[res.status] ?? 0) + 1
    if (res.status !== 202 && outcome.samples.length < 3)
      outcome.samples.push(`${agent.name}: ${res.status} ${res.text.slice(0, 200)}`)
  } catch (error) {
    outcome.statuses.failed = (outcome.statuses.failed ?? 0) + 1
    if (outcome.samples.length < 3) outcome.samples.push(`${agent.name}: ${error.message}`)
  }
}

/**
 * GET /healthz every `everyMs` (one in flight; the next leaves `everyMs` after the previous one left, or as soon
 * as it is answered when that is later) until stopped or `limitMs`; each round trip in ms, a failure as its time to fail.
 * Runs on a thread of its own (pollHealthz), as a prober outside the agents would.
 */
function healthzLoop(baseUrl, everyMs = 10, limitMs = 90_000) {
  const rtts = []
  let failed = 0
  let running = true
  const started = Date.now()
  const url = `${baseUrl}/healthz`
  const done = (async () => {
    while (running && Date.now() - started < limitMs) {
      const sentAt = Date.now()
      try {
        const res = await send('GET', url, {}, '', 5000, keepAlive)
        if (res.status !== 200) failed++
      } catch {
        failed++
      }
      rtts.push(Date.now() - sentAt)
      if (process.env.BENCH_TRACE && Date.now() - sentAt > 100)
        console.log(`    trace /healthz ${baseUrl}: ${Date.now() - sentAt} ms, sent at ${sentAt}`)
      await sleep(Math.max(0, sentAt + everyMs - Date.now()))
    }
  })()
  return {
    async stop() {
      running = false
      await done
      return { rtts: rtts.sort((a, b) => a - b), failed }
    },
  }
}

/**
 * Pollers of GET /healthz, a thread each per server measured: with their own event loop, the simulated
 * agents' work in this process (its loop lags tens of ms under a push, see "our loop") does not count as the
 * server's. Started once, then told to start and stop around each measurement.
 */
const healthzPollers = new Map()
async function pollHealthz(baseUrl) {
  let poller = healthzPollers.get(baseUrl)
  if (!poller) {
    const worker = new Worker(thisFile, { workerData: { role: 'healthz', url: baseUrl } })
    poller = { worker, ready: once(worker, 'message') }
    healthzPollers.set(baseUrl, poller)
    cleanups.push(() => worker.terminate())
  }
  await poller.ready
  poller.worker.postMessage('start')
  return {
    async stop() {
      poller.worker.postMessage('stop')
      const [result] = await once(poller.worker, 'message')
      return result
    },
  }
}

/** The poller thread: polls between 'start' and 'stop', then posts what it measured. */
function healthzThread({ url }) {
  let current
  parentPort.on('message', async (command) => {
    if (command === 'start') current = healthzLoop(url)
    else if (command === 'stop') parentPort.postMessage(await current.stop())
  })
  parentPort.postMessage('ready')
}

const statusText = (statuses) =>
  Object.entries(statuses)
    .map(([s, n]) => `${n}x${s}`)
    .join(' ')

// ---------------------------------------------------------------------------------------------
// One measured run, against the controller or the bare peer
// ---------------------------------------------------------------------------------------------
/**
 * kind 'ingest' | 'lag'; against: { kind: 'controller', url, pid } | { kind: 'bare', url, pid }.
 * Returns what was measured, and problems seen (anything but a clean, complete run).
 */
async function measure(kind, against, agents, windows, targetUrl, batch = 1) {
  const n = agents.length
  const problems = []
  const outcome = { statuses: {}, samples: [] }
  const arrivals = new Map() // merged window index -> { at, agents }
  let finalStatus
  let runId = 'bare-run'
  let lastArrival = 0

  const onEvent = (event, data, at) => {
    if (event === 'window') {
      if (arrivals.has(data.index)) problems.push(`window ${data.index} arrived twice on the stream`)
      arrivals.set(data.index, {
        at,
        agents: data.agents,
        missing: data.missingAgents,
        json: data.latency !== undefined ? JSON.stringify(data) : undefined,
      })
      lastArrival = at
    } else if (event === 'status' && data.status !== 'running') finalStatus = data
  }

  // The assignment each agent gets (from the controller, or made up here for the peer).
  const assignments = new Map()
  for (const agent of agents) agent.onAssignment = (a, assignment) => assignments.set(a.name, assignment)

  let sse
  if (against.kind === 'controller') {
    const yaml = [
      `name: bench-${kind}-${n}`,
      `target: { url: "${targetUrl}", timeout: 2s }`,
      'load:',
      `  steps: [{ rps: ${perAgentRps * n}, duration: ${windows}s }]`,
      '',
    ].join('\n')
    const res = await fetch(`${against.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml }),
    })
    if (res.status !== 201) throw new Error(`POST /api/runs: ${res.status} ${await res.text()}`)
    runId = (await res.json()).id
    sse = openSse(`${against.url}/api/runs/${runId}/events`, onEvent)
  } else {
    const res = await fetch(`${against.url}/config`, { method: 'POST', body: JSON.stringify({ agents: n, windows }) })
    if (res.status !== 204) throw new Error(`bare peer /config: ${res.status}`)
    sse = openSse(`${against.url}/events`, onEvent)
    const startAt = Date.now() + 1500
    for (const agent of agents) assignments.set(agent.name, { runId, startAt })
  }
  await Promise.race([sse.first, sleep(10_000)])
  await until(`${n} assignments (got ${assignments.size})`, () => assignments.size === n || finalStatus, 10_000, 10)
  if (finalStatus) throw new Error(`run ended before it started: ${JSON.stringify(finalStatus).slice(0, 500)}`)
  const startAt = assignments.get(agents[0].name).startAt

  const timers = []
  let firstSent
  const statsBefore = { ...stats }
  firsts = {}
  heartbeatRtts = []
  const trace = process.env.BENCH_TRACE
    ? setInterval(() => {
        const t = Date.now() - (firstSent ?? Date.now())
        console.log(
          `    trace ${kind} ${against.kind} +${fmt(t / 1000, 1)}s at ${Date.now()} our loop max ${fmt(ourLoop.max / 1e6)} ms, merged ${arrivals.size} ` +
            `answers ${statusText(outcome.statuses)} ` +
            `hb-failed ${stats.heartbeatsFailed - statsBefore.heartbeatsFailed} ` +
            `hb-max ${Math.max(0, ...heartbeatRtts.slice(-n))} replans ${stats.replans - statsBefore.replans}`,
        )
      }, 1000)
    : undefined
  const sentAt = new Map() // window index -> latest send time of a request carrying it
  // CPU of the server measured, and of this process, which is the client of both sides: its own
  // event-loop delay says when it, not the server, is the slow one.
  let cpuBefore
  let mainCpuBefore
  let clientBefore
  const ourLoop = monitorEventLoopDelay({ resolution: 10 })
  let healthz
  let overflowsBefore
  const startMonitors = async () => {
    healthz = await pollHealthz(against.url)
    overflowsBefore = listenOverflows()
    cpuBefore = cpuSeconds(against.pid)
    mainCpuBefore = cpuSeconds(against.pid, against.pid)
    clientBefore = process.cpuUsage()
    ourLoop.enable()
    peerHeartbeatRtts = []
    if (against.kind === 'bare') heartbeatPeerUrl = against.url
  }
  if (kind === 'ingest') {
    // Bodies built before the clock starts: what is measured is sending, ingesting, merging, storing.
    // Built an agent at a time, yielding in between so that this process keeps heartbeating meanwhile.
    const bodies = []
    for (const agent of agents) {
      const list = []
      for (let i = 0; i < windows; i += batch) {
        const last = Math.min(windows, i + batch)
        list.push(
          reportBody(
            runId,
            Array.from({ length: last - i }, (_, k) => windowOf(agent.index, i + k, startAt)),
            last === windows,
          ),
        )
      }
      bodies.push(list)
      await new Promise((resolve) => setImmediate(resolve))
    }
    await startMonitors()
    firstSent = Date.now()
    const deadline = firstSent + 60_000
    await Promise.all(
      agents.map(async (agent, a) => {
        for (const body of bodies[a]) {
          if (Date.now() > deadline) return void problems.push(`${agent.name}: gave up sending after 60 s`)
          await postReport(against.url, agent, body, outcome)
        }
      }),
    )
  } else {
    // Real time: window i closes at startAt + (i+1) s on every agent. Like the real agent's link, a
    // window that closes while a report is in flight goes with the next one.
    await startMonitors()
    firstSent = startAt + 1000
    let giveUp
    const sending = new Promise((resolve) => {
      let finished = 0
      for (const agent of agents) {
        const pending = []
        let sending = false
        let closed = 0
        const flush = async () => {
          if (sending || pending.length === 0) return
          sending = true
          const batch = pending.splice(0, maxWindowsPerReport)
          const now = Date.now()
          for (const w of batch) sentAt.set(w.index, Math.max(sentAt.get(w.index) ?? 0, now))
          await postReport(against.url, agent, reportBody(runId, batch, batch.at(-1).index === windows - 1), outcome)
          sending = false
          if (pending.length > 0) void flush()
          else if (closed === windows && ++finished === n) resolve()
        }
        for (let i = 0; i < windows; i++) {
          timers.push(
            setTimeout(
              () => {
                pending.push(windowOf(agent.index, i, startAt))
                closed++
                void flush()
              },
              startAt + (i + 1) * 1000 - Date.now(),
            ),
          )
        }
      }
    })
    await Promise.race([sending, new Promise((resolve) => (giveUp = setTimeout(resolve, (windows + 30) * 1000)))])
    clearTimeout(giveUp)
  }

  // Every report is answered; now wait (bounded) for the merged windows and the run's end.
  const limitMs = 30_000
  try {
    await until(
      'the last merged window',
      () => arrivals.size >= windows || (finalStatus && against.kind === 'controller'),
      limitMs,
      5,
    )
    if (against.kind === 'controller') await until('the run\u2019s final status', () => finalStatus, 10_000, 20)
  } catch (error) {
    problems.push(`${error.message}: ${arrivals.size}/${windows} merged windows seen`)
  }
  for (const t of timers) clearTimeout(t)
  clearInterval(trace)
  heartbeatPeerUrl = undefined
  const overflows = listenOverflows() - overflowsBefore
  if (overflows > 0)
    problems.push(
      `the kernel dropped ${overflows} connection(s) at a full listen queue (ListenOverflows, machine-wide)`,
    )
  const health = await healthz.stop()
  if (health.failed > 0) problems.push(`${health.failed} of ${health.rtts.length} GET /healthz failed or were not 200`)
  sse.close()
  for (const agent of agents) agent.active.delete(runId)
  ourLoop.disable()
  const cpuAfter = cpuSeconds(against.pid)
  const mainCpuAfter = cpuSeconds(against.pid, against.pid)
  const clientCpu = process.cpuUsage(clientBefore)
  const lastAt = arrivals.size > 0 ? lastArrival : NaN

  if (outcome.samples.length > 0 || Object.keys(outcome.statuses).some((s) => s !== '202')) {
    problems.push(`report answers: ${statusText(outcome.statuses)}; e.g. ${outcome.samples.join(' | ')}`)
  }
  const short = [...arrivals.entries()].filter(([, w]) => w.agents !== n)
  if (short.length > 0)
    problems.push(
      `${short.length} merged window(s) with fewer than ${n} agents, e.g. ` +
        `index ${short[0][0]}: ${short[0][1].agents} agents, missing ${JSON.stringify(short[0][1].missing ?? [])}`,
    )
  let stored
  if (against.kind === 'controller') {
    if (finalStatus && finalStatus.status !== 'passed')
      problems.push(`run ended ${finalStatus.status}: ${JSON.stringify(finalStatus.summary?.reasons ?? [])}`)
    if (finalStatus?.summary?.degraded)
      problems.push(`run degraded: ${JSON.stringify(finalStatus.summary.agentLosses).slice(0, 400)}`)
    try {
      const res = await fetch(`${against.url}/api/runs/${runId}/windows`, { signal: AbortSignal.timeout(10_000) })
      stored = res.ok ? (await res.json()).length : NaN
      if (stored !== windows) problems.push(`${stored} windows stored, ${windows} expected`)
    } catch (error) {
      problems.push(`GET /api/runs/${runId}/windows failed: ${error.cause?.message ?? error.message}`)
    }
  }

  const d = Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v - statsBefore[k]]))
  if (d.heartbeatsFailed || d.heartbeatsSlow || d.replans || d.stops) {
    const when = (at) => {
      if (at === undefined) return 'never'
      const merged = [...arrivals.values()].filter((w) => w.at <= at).length
      return `${fmt((at - firstSent) / 1000, 2)} s after the first report (${merged} merged windows by then)`
    }
    problems.push(
      `agents saw: ${d.heartbeatsFailed} heartbeats failed or timed out (1 s), ${d.heartbeatsSlow} answered ` +
        `after > 500 ms, ${d.replans} replans, ${d.stops} stops; ` +
        `first heartbeat trouble ${when(firsts.heartbeatTrouble)}, first replan ${when(firsts.replan)}`,
    )
  }
  const rtts = (against.kind === 'bare' ? peerHeartbeatRtts : heartbeatRtts).slice().sort((a, b) => a - b)
  let lost = []
  if (against.kind === 'controller') {
    lost = (finalStatus?.summary?.agentLosses ?? []).map((l) => l.agent)
    try {
      const listed = await (await fetch(`${against.url}/api/agents`, { signal: AbortSignal.timeout(10_000) })).json()
      for (const a of listed) if (a.state === 'lost' && !lost.includes(a.name)) lost.push(a.name)
    } catch (error) {
      problems.push(`GET /api/agents failed: ${error.cause?.message ?? error.message}`)
    }
  }
  const lags = { fromLastPost: [], fromWindowEnd: [] }
  if (kind === 'lag') {
    for (const [index, w] of arrivals) {
      if (sentAt.has(index)) lags.fromLastPost.push(w.at - sentAt.get(index))
      lags.fromWindowEnd.push(w.at - (startAt + (index + 1) * 1000))
    }
    lags.fromLastPost.sort((a, b) => a - b)
    lags.fromWindowEnd.sort((a, b) => a - b)
  }
  const seconds = (lastAt - firstSent) / 1000
  const sampleJson = [...arrivals.values()].find((w) => w.json)?.json
  return {
    runId,
    n,
    windows,
    merged: arrivals.size,
    seconds,
    agentWindowsPerS: (n * arrivals.size) / seconds,
    mergedPerS: arrivals.size / seconds,
    cpu: cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : NaN,
    mainCpu: mainCpuBefore !== undefined && mainCpuAfter !== undefined ? mainCpuAfter - mainCpuBefore : NaN,
    ourLoopMs: { p99: ourLoop.percentile(99) / 1e6, max: ourLoop.max / 1e6 },
    heartbeat: { p50: quantile(rtts, 0.5), p99: quantile(rtts, 0.99), max: rtts.at(-1), n: rtts.length },
    healthz: {
      p50: quantile(health.rtts, 0.5),
      p99: quantile(health.rtts, 0.99),
      max: health.rtts.at(-1),
      n: health.rtts.length,
    },
    lost,
    clientCpu: (clientCpu.user + clientCpu.system) / 1e6,
    lags,
    stored,
    problems,
    sampleJson,
  }
}

// ---------------------------------------------------------------------------------------------
// In-process floors
// ---------------------------------------------------------------------------------------------
function mergeFloor(n) {
  const parts = Array.from({ length: n }, (_, i) => histogramPool[(i * 7) % histogramPool.length].latency)
  encodeHistogram(mergeEncoded(parts)) // warm-up
  const started = performance.now()
  let reps = 0
  while (reps < 200 && performance.now() - started < 1500) {
    encodeHistogram(mergeEncoded(parts))
    reps++
  }
  return (performance.now() - started) / reps
}

/**
 * Agent-window rows per second, stored as the controller stores a report's windows: one transaction
 * (one fsync: WAL, synchronous=FULL) per report of `batch` windows.
 */
function sqliteFloor(dir, batch) {
  const file = join(dir, `floor-${Math.random().toString(36).slice(2)}.db`)
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.exec(
      'CREATE TABLE agent_windows (run_id TEXT NOT NULL, agent TEXT NOT NULL, idx INTEGER NOT NULL, report_json ' +
        'TEXT NOT NULL, PRIMARY KEY (run_id, agent, idx))',
    )
    const insert = db.prepare('INSERT INTO agent_windows (run_id, agent, idx, report_json) VALUES (?, ?, ?, ?)')
    const report = db.transaction((agent, from) => {
      for (let i = from; i < from + batch; i++) insert.run('floor', agent, i, JSON.stringify(windowOf(0, i, 0)))
    })
    const started = performance.now()
    let rows = 0
    while (rows < 3000 && performance.now() - started < 1500) {
      report(`sim-${rows % 200}`, rows)
      rows += batch
    }
    return rows / ((performance.now() - started) / 1000)
  } finally {
    db.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  const counts = (process.env.BENCH_AGENTS ?? '10,50,200').split(',').map(Number)
  // Enough agent-windows per ingest run (>= 3000) that the run's fixed costs do not dominate.
  const batch = Math.min(maxWindowsPerReport, Number(process.env.BENCH_BATCH ?? 1))
  const ingestWindowsFor = (n) => Number(process.env.BENCH_INGEST_WINDOWS ?? Math.max(30, Math.ceil(3000 / n)))
  const lagWindows = Number(process.env.BENCH_LAG_WINDOWS ?? 10)
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-bench-agents-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))

  // A target for the controller's TCP probe; the simulated agents never load it.
  const target = createServer((_req, res) => res.end('ok'))
  target.listen(0, '127.0.0.1')
  await once(target, 'listening')
  cleanups.push(() => target.close())
  const targetUrl = `http://127.0.0.1:${target.address().port}/`

  // BENCH_CPU_PROF=dir: a CPU profile of the controller process (written there when it stops), to see where its
  // time goes; BENCH_CONTROLLER_NODE_ARGS passes any other node flags.
  const controllerNodeArgs = (process.env.BENCH_CONTROLLER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  if (process.env.BENCH_CPU_PROF) controllerNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`)
  const controller = await startChild(
    [
      ...controllerNodeArgs,
      gauntletBin,
      'controller',
      '--port',
      '0',
      '--agents',
      'remote',
      '--db',
      join(dir, 'controller.db'),
      '--max-run-rps',
      '1000000',
    ],
    { GAUNTLET_AGENT_SECRET: secret, GAUNTLET_TOKEN: '' },
  )
  cleanups.push(() => controller.stop())
  let stopping = false
  cleanups.push(() => (stopping = true))
  controller.child.once('exit', (code, signal) => {
    if (!stopping)
      console.error(
        `\nthe controller exited during the bench (code ${code}, signal ${signal}); ` +
          `its stderr:\n${controller.stderr().slice(-3000)}\n` +
          `its last stdout lines:\n${controller.lines.slice(-10).join('\n')}`,
      )
  })
  const bare = await startChild([thisFile, '--bare-peer'], {})
  cleanups.push(() => bare.stop())
  const agents = []
  cleanups.push(() => Promise.all(agents.map((a) => a.close())))
  const controllerSide = { kind: 'controller', url: controller.url, pid: controller.child.pid }
  const bareSide = { kind: 'bare', url: bare.url, pid: bare.child.pid }

  console.log(
    `\ngauntlet controller bench: simulated agents ${counts.join('/')}, ${perAgentRps} rps and ~${perAgentRps} ` +
      `latencies per agent-window, node ${process.version}, ${cpus().length} cores`,
  )
  console.log(
    `ingest runs: ${counts.map((n) => ingestWindowsFor(n)).join('/')} windows per agent, pushed at once ` +
      `(${batch} window(s) per report, 1 report in flight per agent); lag runs: ${lagWindows} s in real time`,
  )

  const results = []
  const ready = (n, limitMs) =>
    until(
      `${n} ready agents on the controller`,
      async () => {
        const listed = await (await fetch(`${controller.url}/api/agents`, { signal: AbortSignal.timeout(5000) })).json()
        return (
          listed.filter((a) => a.state === 'ready').length === n &&
          listed.filter((a) => a.state !== 'lost').length === n
        )
      },
      limitMs,
      100,
    )
  let failure
  for (const n of counts) {
    try {
      while (agents.length < n) {
        const agent = new SimAgent(agents.length)
        await agent.listen()
        agents.push(agent)
      }
      const set = agents.slice(0, n)
      for (const agent of set) agent.startHeartbeat(controller.url)
      await ready(n, 20_000)
      if (results.length === 0) {
        // Unmeasured warm-up of both servers (JIT, SQLite page cache, connections).
        await measure('ingest', controllerSide, set, 20, targetUrl, batch)
        await measure('ingest', bareSide, set, 20, targetUrl, batch)
        await ready(n, 20_000)
      }
      const ingestCtl = await measure('ingest', controllerSide, set, ingestWindowsFor(n), targetUrl, batch)
      const ingestBare = await measure('ingest', bareSide, set, ingestWindowsFor(n), targetUrl, batch)
      await ready(n, 20_000)
      const lagCtl = await measure('lag', controllerSide, set, lagWindows, targetUrl)
      const lagBare = await measure('lag', bareSide, set, lagWindows, targetUrl)
      results.push({ n, ingestCtl, ingestBare, lagCtl, lagBare })
      console.log(`  ${n} agents measured`)
    } catch (error) {
      const reason = error.cause?.message ? `${error.message} (${error.cause.message})` : error.message
      failure = `${n} agents: not measured (nor any larger count): ${reason}`
      console.log(`  ${failure}`)
      break
    }
  }
  // The in-process floors block this process (and so the agents' heartbeats): only once all runs are over.
  for (const agent of agents) agent.beating = false
  for (const r of results) {
    r.mergeMs = mergeFloor(r.n)
  }
  const sqliteRows = results.length > 0 ? sqliteFloor(dir, batch) : NaN
  for (const r of results) {
    r.sqliteRows = sqliteRows
  }

  if (results.length === 0) {
    console.log(`\nnothing measured: ${failure}`)
    process.exitCode = 1
    return
  }
  console.log(
    `\nIngest: agent-windows/s, from the first report sent to the last merged window on the SSE stream (merged ` +
      `windows/s = that / agents).`,
  )
  console.log(
    'Floors, in this process once the runs are over: merging N encoded histograms (the controller\u2019s ' +
      'mergeEncoded) caps agent-windows/s at',
  )
  console.log(
    `N/merge time; one SQLite transaction per report (WAL, synchronous=FULL, ${batch} agent window(s) each) at ` +
      `its rows/s.`,
  )
  const w1 = [6, 19, 18, 5, 9, 15, 14, 14, 18, 20, 12]
  console.log(
    row(
      [
        'agents',
        'controller win/s',
        'bare http win/s',
        'ratio',
        'merged/s',
        'CPU s/s ctl|us',
        'bare|us',
        'heartbeat p99',
        'our loop p99 ctl|bare',
        'merge floor (win/s)',
        'sqlite floor',
      ],
      w1,
    ),
  )
  for (const r of results) {
    const c = r.ingestCtl
    const b = r.ingestBare
    console.log(
      row(
        [
          r.n,
          `${fmt(c.agentWindowsPerS)} (${fmt(c.seconds, 2)}s)`,
          `${fmt(b.agentWindowsPerS)} (${fmt(b.seconds, 2)}s)`,
          fmt(c.agentWindowsPerS / b.agentWindowsPerS, 2),
          fmt(c.mergedPerS, 1),
          `${fmt(c.cpu / c.seconds, 2)}|${fmt(c.clientCpu / c.seconds, 2)}`,
          `${fmt(b.cpu / b.seconds, 2)}|${fmt(b.clientCpu / b.seconds, 2)}`,
          `${fmt(c.heartbeat.p99)}|${fmt(b.heartbeat.p99)}ms`,
          `${fmt(c.ourLoopMs.p99)}|${fmt(b.ourLoopMs.p99)}ms`,
          `${fmt(r.mergeMs, 1)}ms (${fmt((r.n * 1000) / r.mergeMs)})`,
          fmt(r.sqliteRows),
        ],
        w1,
      ),
    )
  }

  // The ratio moves with the neighbours' load (both sides share the machine with them); CPU per agent-window
  // does much less, and the server's main thread is the one that serializes its requests.
  console.log(
    `\nCPU ms per agent-window during the ingest push (10 ms ticks from /proc): server's main thread | all its threads`,
  )
  console.log(row(['agents', 'controller', 'bare http'], [6, 20, 20]))
  for (const r of results) {
    const perWindow = (m, cpu) => fmt((cpu * 1000) / (m.n * m.merged), 3)
    const c = r.ingestCtl
    const b = r.ingestBare
    console.log(
      row(
        [
          r.n,
          `${perWindow(c, c.mainCpu)} | ${perWindow(c, c.cpu)}`,
          `${perWindow(b, b.mainCpu)} | ${perWindow(b, b.cpu)}`,
        ],
        [6, 20, 20],
      ),
    )
  }

  console.log(
    `\nLag (ms): merged window on the SSE stream after the last agent's POST of that second | after the ` +
      `second's nominal end; ${lagWindows} samples per cell (p99 of ${lagWindows} = max)`,
  )
  const w2 = [6, 22, 22, 11, 22]
  console.log(
    row(['agents', 'controller p50/p99/max', 'bare http p50/p99/max', 'ratio p50', 'controller from end'], w2),
  )
  const three = (xs) => `${fmt(quantile(xs, 0.5), 1)}/${fmt(quantile(xs, 0.99), 1)}/${fmt(xs.at(-1), 1)}`
  for (const r of results) {
    const c = r.lagCtl.lags
    const b = r.lagBare.lags
    console.log(
      row(
        [
          r.n,
          three(c.fromLastPost),
          three(b.fromLastPost),
          fmt(quantile(c.fromLastPost, 0.5) / quantile(b.fromLastPost, 0.5), 2),
          three(c.fromWindowEnd),
        ],
        w2,
      ),
    )
  }

  console.log(
    `\nIssue 16's goals during the backlog push (ingest runs above), side by side in this run: heartbeat round ` +
      `trips as the agents see them`,
  )
  console.log(
    `(each agent beats every second; during the peer's run it beats the peer too), GET /healthz every ~10 ms, ` +
      `agents the controller declared lost.`,
  )
  const w3 = [6, 13, 26, 26, 26, 26, 6]
  console.log(
    row(
      [
        'agents',
        'ingest ratio',
        'heartbeat p50/p99/max ctl',
        'heartbeat p50/p99/max peer',
        '/healthz p50/p99/max ctl',
        '/healthz p50/p99/max peer',
        'lost',
      ],
      w3,
    ),
  )
  const t = (x) => `${fmt(x.p50)}/${fmt(x.p99)}/${fmt(x.max)} ms (${x.n})`
  for (const r of results) {
    const c = r.ingestCtl
    const b = r.ingestBare
    console.log(
      row(
        [
          r.n,
          fmt(c.agentWindowsPerS / b.agentWindowsPerS, 2),
          t(c.heartbeat),
          t(b.heartbeat),
          t(c.healthz),
          t(b.healthz),
          c.lost.length,
        ],
        w3,
      ),
    )
  }
  for (const r of results) {
    const c = r.ingestCtl
    const ratio = c.agentWindowsPerS / r.ingestBare.agentWindowsPerS
    const goal = (met, text) => console.log(`  ${r.n} agents: ${met ? 'goal met' : 'MISSED'}: ${text}`)
    goal(ratio >= 0.6, `ingest ${fmt(ratio, 2)}x the bare peer (goal >= 0.6x)`)
    goal(c.heartbeat.p99 < 200, `heartbeat p99 ${fmt(c.heartbeat.p99)} ms during the push (goal < 200 ms)`)
    goal(
      c.lost.length === 0,
      `${c.lost.length} agent(s) declared lost${c.lost.length ? `: ${c.lost.slice(0, 5)}` : ''}`,
    )
    goal(c.healthz.p99 < 50, `/healthz p99 ${fmt(c.healthz.p99)} ms throughout the push (goal < 50 ms)`)
  }

  console.log(
    '\nProblems seen (reports not answered 202, windows missing or short of agents, runs not passed, heartbeats ' +
      'failing, agent losses, connections dropped at a full listen queue):',
  )
  let any = false
  for (const r of results) {
    for (const [what, m] of [
      ['ingest/controller', r.ingestCtl],
      ['ingest/bare', r.ingestBare],
      ['lag/controller', r.lagCtl],
      ['lag/bare', r.lagBare],
    ]) {
      for (const p of m.problems) {
        any = true
        console.log(`  ${r.n} agents, ${what}: ${p}`)
      }
    }
  }
  if (failure) console.log(`  ${failure}`)
  if (!any && !failure) console.log('  none')
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch {
      // best effort
    }
  }
  cleanups.length = 0
  for (const child of children) child.kill('SIGKILL')
}

if (!isMainThread) {
  if (workerData?.role === 'healthz') healthzThread(workerData)
} else if (process.argv[2] === '--bare-peer') {
  bareServer()
} else {
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL')
  })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      void cleanup().finally(() => process.exit(130))
    })
  }
  // The whole bench is bounded: past this, whatever is running is abandoned.
  const overall = setTimeout(() => {
    console.error('bench/agents.mjs: over its time limit (240 s), stopping')
    void cleanup().finally(() => process.exit(1))
  }, 240_000)
  overall.unref()
  try {
    await main()
  } catch (error) {
    console.error(`bench/agents.mjs failed: ${error.stack ?? error}`)
    process.exitCode = 1
  } finally {
    await cleanup()
  }
}
