/**
 * The demo target's HTTP handler. Admin routes (/__health, /__stats, /__knobs) bypass every knob;
 * all other requests go through capacity, then latency, then error rate. The traffic path is kept
 * allocation-light (prebuilt bodies and headers, no closures per request) so a fixed latency of
 * 20 ms stays ~20 ms at hundreds of requests per second.
 */
import http from 'node:http'
import { Admission } from './admission.js'
import { MemoryLeak, OneShotStall } from './faults.js'
import { defaultKnobs, KnobError, updateKnobs, type Knobs } from './knobs.js'

export interface DemoTargetStats {
  /** Traffic requests received (admin routes are not counted). */
  requests: number
  ok: number
  /** Injected 500s (error rate); shed 503s are counted in `shed` only. */
  errors5xx: number
  shed: number
  maxQueue: number
  /** Requests waiting in the overload queue right now. */
  queued: number
  stallsDone: number
  leakedKb: number
}

export interface DemoTarget {
  /** Not yet listening: call server.listen(). */
  server: http.Server
  /** Live knobs; PUT /__knobs updates this object in place. */
  knobs: Knobs
  /** Live counters, the same numbers GET /__stats returns. */
  stats: DemoTargetStats
}

type Res = http.ServerResponse<http.IncomingMessage> & { req: http.IncomingMessage }

const jsonBody = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
const jsonHeaders = (body: Buffer) => ({ 'content-type': 'application/json', 'content-length': String(body.length) })

const okBody = jsonBody({ ok: true })
const okHeaders = jsonHeaders(okBody)
const errorBody = jsonBody({ ok: false, error: 'injected error' })
const errorHeaders = jsonHeaders(errorBody)
const shedBody = jsonBody({ ok: false, error: 'over capacity' })
const shedHeaders = jsonHeaders(shedBody)
const healthBody = Buffer.from('ok')
const healthHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(healthBody.length) }

/** PUT /__knobs bodies are a handful of fields; anything bigger is a mistake. */
const maxKnobBodyBytes = 64 * 1024

/** Accepts a partial set of knobs (missing ones take the CLI defaults) and validates them like the CLI does. */
export function createDemoTarget(initial: Partial<Knobs> = {}): DemoTarget {
  const knobs: Knobs = updateKnobs(defaultKnobs, initial, { allowStartupKnobs: true }).knobs
  const stats: DemoTargetStats = {
    requests: 0,
    ok: 0,
    errors5xx: 0,
    shed: 0,
    maxQueue: 0,
    queued: 0,
    stallsDone: 0,
    leakedKb: 0,
  }

  const respond = (res: Res): void => {
    if (knobs.errorRate > 0 && Math.random() < knobs.errorRate) {
      stats.errors5xx++
      res.writeHead(500, errorHeaders).end(errorBody)
      return
    }
    stats.ok++
    res.writeHead(200, okHeaders).end(okBody)
  }

  const serve = (res: Res): void => {
    let delay = knobs.latencyMs
    if (knobs.jitterMs > 0) delay = Math.max(0, delay + (Math.random() * 2 - 1) * knobs.jitterMs)
    // Whole ms: node keeps one timer list per distinct duration, so jitter must not create thousands.
    delay = Math.round(delay)
    if (delay === 0) respond(res)
    else setTimeout(respond, delay, res)
  }

  const admission = new Admission<Res>(knobs, stats, serve, (res) => res.req.socket.destroyed)
  const stall = new OneShotStall(knobs, stats)
  const leak = new MemoryLeak(knobs, stats)

  const handleTraffic = (req: http.IncomingMessage, res: Res): void => {
    stats.requests++
    stall.onRequest()
    // Discard any body as it arrives; the answer does not depend on it and keep-alive needs it read.
    req.resume()
    if (!admission.admit(res)) res.writeHead(503, shedHeaders).end(shedBody)
  }

  const handleKnobUpdate = (req: http.IncomingMessage, res: Res): void => {
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxKnobBodyBytes) tooLarge = true
      else chunks.push(chunk)
    })
    req.on('end', () => {
      if (tooLarge) return sendJson(res, 413, { ok: false, error: `knob update larger than ${maxKnobBodyBytes} bytes` })
      let update
      try {
        update = updateKnobs(knobs, JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'))
      } catch (err) {
        if (err instanceof KnobError || err instanceof SyntaxError)
          return sendJson(res, 400, { ok: false, error: err.message })
        throw err
      }
      Object.assign(knobs, update.knobs)
      admission.reconfigure()
      if (update.touched.includes('stallAfterMs') || update.touched.includes('stallForMs')) stall.rearm()
      sendJson(res, 200, knobs)
    })
  }

  const server = http.createServer({ noDelay: true }, (req, res) => {
    const url = req.url ?? '/'
    // One cheap prefix test keeps admin routing off the traffic path.
    if (url.startsWith('/__')) {
      const query = url.indexOf('?')
      const path = query === -1 ? url : url.slice(0, query)
      const method = req.method ?? 'GET'
      const read = method === 'GET' || method === 'HEAD'
      if (path === '/__health') {
        if (!read) return methodNotAllowed(req, res, 'GET, HEAD')
        res.writeHead(200, healthHeaders).end(healthBody)
        return
      }
      if (path === '/__stats') {
        if (!read) return methodNotAllowed(req, res, 'GET, HEAD')
        return sendJson(res, 200, stats)
      }
      if (path === '/__metrics') {
        if (!read) return methodNotAllowed(req, res, 'GET, HEAD')
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(stats))
        return
      }
      if (path === '/__knobs') {
        if (read) return sendJson(res, 200, knobs)
        if (method === 'PUT') return handleKnobUpdate(req, res)
        return methodNotAllowed(req, res, 'GET, HEAD, PUT')
      }
    }
    handleTraffic(req, res)
  })

  server.on('listening', () => leak.start())
  server.on('close', () => {
    leak.stop()
    stall.close()
    admission.close()
  })

  return { server, knobs, stats }
}

/** The process's health in the Prometheus text format, as a service's /metrics would give it (for leak hunts). */
function prometheusText(stats: DemoTargetStats): string {
  const memory = process.memoryUsage()
  const gauge = (name: string, help: string, value: number): string =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`
  return [
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', memory.rss),
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used in bytes.', memory.heapUsed),
    gauge('demo_leaked_bytes', 'Memory the leak knob has retained.', stats.leakedKb * 1024),
    `# HELP demo_requests_total Requests received.\n# TYPE demo_requests_total counter\n` +
      `demo_requests_total ${stats.requests}\n`,
  ].join('')
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = jsonBody(value)
  res.writeHead(status, jsonHeaders(body)).end(body)
}

function methodNotAllowed(req: http.IncomingMessage, res: http.ServerResponse, allow: string): void {
  req.resume()
  res.setHeader('allow', allow)
  sendJson(res, 405, { ok: false, error: `${req.method ?? '?'} not allowed; use ${allow}` })
}
