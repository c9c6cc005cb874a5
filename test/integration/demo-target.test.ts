import { execFile } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { createDemoTarget, type DemoTarget, type Knobs } from '../../apps/demo-target/src/index.js'
import { demoTargetBin, startDemoTarget, type ChildServer } from '../helpers/child-server.js'

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** Client-side duration, from before the request is issued to the end of the response body. */
  ms: number
}

/** One HTTP exchange over `agent`; every request is bounded by a 10 s timeout. */
function send(agent: http.Agent, url: string, init: { method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const headers: http.OutgoingHttpHeaders =
      init.body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(init.body) }
    const req = http.request(url, { method: init.method ?? 'GET', agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
        }),
      )
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer within 10 s: ${init.method ?? 'GET'} ${url}`)))
    req.end(init.body)
  })
}

const countStatuses = (replies: Reply[]): Record<number, number> => {
  const counts: Record<number, number> = {}
  for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1
  return counts
}

interface Started extends DemoTarget {
  base: string
  agent: http.Agent
  get(path: string, init?: { method?: string; body?: string }): Promise<Reply>
  /** `n` traffic requests all issued at once. */
  burst(n: number, path?: string): Promise<Reply[]>
  /** Opens `n` keep-alive connections via /__health (which bypasses every knob), so a later burst arrives together. */
  warm(n: number): Promise<void>
  putKnobs(body: unknown): Promise<Reply>
  getStats(): Promise<Record<string, number>>
}

const running: { server: http.Server; agent: http.Agent }[] = []
let child: ChildServer | undefined

async function start(knobs: Partial<Knobs> = {}): Promise<Started> {
  const target = createDemoTarget(knobs)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  running.push({ server: target.server, agent })
  target.server.listen(0, '127.0.0.1')
  await once(target.server, 'listening')
  const { port } = target.server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`
  const get = (path: string, init?: { method?: string; body?: string }) => send(agent, base + path, init)
  return {
    ...target,
    base,
    agent,
    get,
    burst: (n, path = '/') => Promise.all(Array.from({ length: n }, () => get(path))),
    async warm(n) {
      const replies = await Promise.all(Array.from({ length: n }, () => get('/__health')))
      expect(replies.every((r) => r.status === 200)).toBe(true)
      // Let the agent put the sockets back into its free pool before the next burst.
      await new Promise((resolve) => setImmediate(resolve))
    },
    putKnobs: (body) =>
      get('/__knobs', { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) }),
    async getStats() {
      const r = await get('/__stats')
      expect(r.status).toBe(200)
      return JSON.parse(r.body) as Record<string, number>
    },
  }
}

afterEach(async () => {
  for (const { server, agent } of running.splice(0)) {
    agent.destroy()
    // Keep-alive and queued requests would otherwise hold close() open.
    server.closeAllConnections()
    if (server.listening)
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())))
  }
  await child?.stop()
  child = undefined
})

describe('demo target (in-process servers, real HTTP)', () => {
  it('answers /__health 200 even when every traffic request would be shed or failed, and slowly', async () => {
    const t = await start({ errorRate: 1, capacityRps: 1, overload: 'shed' })
    const traffic = await t.burst(5)
    const counts = countStatuses(traffic)
    // One token in the bucket: the request that gets it fails with the injected 500, the rest are shed.
    expect(Object.keys(counts).sort()).toEqual(['500', '503'])
    expect(counts[503]).toBeGreaterThanOrEqual(3)

    const health = await Promise.all(Array.from({ length: 20 }, () => t.get('/__health')))
    for (const r of health) {
      expect(r.status).toBe(200)
      expect(r.body).toBe('ok')
    }
    expect((await t.get('/__health', { method: 'HEAD' })).status).toBe(200)
    expect((await t.get('/__health?probe=1')).status).toBe(200)

    // A latency knob does not apply to admin routes either.
    expect((await t.putKnobs({ latencyMs: 5000 })).status).toBe(200)
    const slowKnobsHealth = await t.get('/__health')
    expect(slowKnobsHealth.status).toBe(200)
    expect(slowKnobsHealth.ms).toBeLessThan(2000)

    // Admin routes are not counted as traffic.
    expect(t.stats.requests).toBe(5)
  })

  it('rejects writes to read-only admin routes with 405 and an Allow header', async () => {
    const t = await start()
    const r = await t.get('/__health', { method: 'POST', body: '{}' })
    expect(r.status).toBe(405)
    expect(r.headers.allow).toBe('GET, HEAD')
    const k = await t.get('/__knobs', { method: 'DELETE' })
    expect(k.status).toBe(405)
    expect(k.headers.allow).toBe('GET, HEAD, PUT')
    expect(t.stats.requests).toBe(0)
  })

  it.each([
    [1, 500],
    [0, 200],
  ])('error rate %d answers every traffic request %d', async (errorRate, status) => {
    const t = await start({ errorRate })
    const replies: Reply[] = []
    for (let round = 0; round < 5; round++) replies.push(...(await t.burst(10, `/orders/${round}`)))
    expect(countStatuses(replies)).toEqual({ [status]: 50 })
    expect(JSON.parse(replies[0]!.body)).toEqual(status === 200 ? { ok: true } : { ok: false, error: 'injected error' })
    expect(await t.getStats()).toMatchObject({
      requests: 50,
      ok: status === 200 ? 50 : 0,
      errors5xx: status === 500 ? 50 : 0,
      shed: 0,
    })
  })

  it('error rate 0.5 fails roughly half of the requests', async () => {
    const t = await start({ errorRate: 0.5 })
    const replies: Reply[] = []
    for (let round = 0; round < 10; round++) replies.push(...(await t.burst(20)))
    const counts = countStatuses(replies)
    expect((counts[200] ?? 0) + (counts[500] ?? 0)).toBe(200)
    // Binomial(200, 0.5): sd ~7, so 50..150 is ~7 sd out; a broken knob (0 or 1) lands far outside.
    expect(counts[500]).toBeGreaterThanOrEqual(50)
    expect(counts[500]).toBeLessThanOrEqual(150)
  })

  it(`shed mode with capacity 10: a burst of 50 passes at most one bucket (1 token) plus the refill, \
the rest get 503`, async () => {
    const t = await start({ capacityRps: 10, overload: 'shed' })
    await t.warm(50)

    const burstStarted = performance.now()
    const replies = await t.burst(50)
    const elapsed = performance.now() - burstStarted
    const counts = countStatuses(replies)
    const passed = counts[200] ?? 0
    const shed = counts[503] ?? 0
    expect(passed + shed).toBe(50)
    expect(passed).toBeGreaterThanOrEqual(1)
    // Bucket size max(1, 10/10) = 1, refilled at 10/s: every decision fell inside `elapsed`.
    expect(passed).toBeLessThanOrEqual(1 + (elapsed * 10) / 1000)
    expect(shed).toBeGreaterThanOrEqual(25)
    expect(JSON.parse(replies.find((r) => r.status === 503)!.body)).toEqual({ ok: false, error: 'over capacity' })

    // After a pause the bucket holds at most one token again (it does not bank 2.5 s worth).
    await delay(250)
    const again = performance.now()
    const second = countStatuses(await t.burst(10))
    const secondElapsed = performance.now() - again
    expect(second[200]).toBeGreaterThanOrEqual(1)
    expect(second[200]).toBeLessThanOrEqual(1 + (secondElapsed * 10) / 1000)

    const stats = await t.getStats()
    expect(stats).toMatchObject({
      requests: 60,
      ok: passed + (second[200] ?? 0),
      shed: shed + (second[503] ?? 0),
      errors5xx: 0,
    })
  })

  it(`queue mode with capacity 20: all of 30 concurrent requests get 200, \
the last ones only after ~1.4 s`, async () => {
    const t = await start({ capacityRps: 20, overload: 'queue' })
    await t.warm(30)

    const replies = await t.burst(30)
    expect(countStatuses(replies)).toEqual({ 200: 30 })
    const ms = replies.map((r) => r.ms).sort((a, b) => a - b)
    // Released 50 ms apart (first at once, the next 40 ms later due to 10 ms slack): the 30th at >= ~1440 ms.
    expect(ms[0]!).toBeLessThan(1000)
    expect(ms[14]!).toBeGreaterThanOrEqual(400)
    expect(ms[29]!).toBeGreaterThanOrEqual(1000)
    expect(ms[29]! - ms[0]!).toBeGreaterThanOrEqual(900)
    // Not stuck: a generous ceiling for a noisy machine.
    expect(ms[29]!).toBeLessThan(6000)

    const stats = await t.getStats()
    expect(stats).toMatchObject({ requests: 30, ok: 30, shed: 0, queued: 0 })
    expect(stats.maxQueue).toBeGreaterThanOrEqual(10)
    expect(stats.maxQueue).toBeLessThanOrEqual(29)
  })

  it('queue mode: lifting the capacity via PUT /__knobs flushes the queue at once', async () => {
    // 0.2 rps: the second request's slot is ~5 s away, so only an immediate re-time answers them quickly.
    const t = await start({ capacityRps: 0.2, overload: 'queue' })
    let arrived = 0
    const allArrived = new Promise<void>((resolve) => {
      t.server.on('request', () => {
        if (++arrived === 5) resolve()
      })
    })
    const started = performance.now()
    const pending = t.burst(5)
    await allArrived
    expect(t.stats.queued).toBe(4)
    const put = await t.putKnobs({ capacity: null })
    expect(put.status).toBe(200)
    expect(JSON.parse(put.body)).toMatchObject({ capacityRps: null, overload: 'queue' })
    const replies = await pending
    expect(countStatuses(replies)).toEqual({ 200: 5 })
    expect(performance.now() - started).toBeLessThan(2500)
    expect(t.stats.queued).toBe(0)
  })

  it('latency 50 makes every request take >= 50 ms (and not seconds)', async () => {
    const t = await start({ latencyMs: 50 })
    for (let i = 0; i < 5; i++) {
      const r = await t.get('/')
      expect(r.status).toBe(200)
      // libuv timers count whole ms from the loop's cached clock, so allow 1 ms of truncation.
      expect(r.ms).toBeGreaterThanOrEqual(49)
      expect(r.ms).toBeLessThan(1000)
    }
  })

  it('jitter stays within latency +/- jitter', async () => {
    const t = await start({ latencyMs: 100, jitterMs: 50 })
    const replies = await t.burst(10)
    for (const r of replies) {
      expect(r.status).toBe(200)
      expect(r.ms).toBeGreaterThanOrEqual(49)
      expect(r.ms).toBeLessThan(1000)
    }
  })

  it(`PUT /__knobs with a valid body changes behaviour; \
an invalid body answers 400 naming the field and changes nothing`, async () => {
    const t = await start()
    expect(countStatuses(await t.burst(5))).toEqual({ 200: 5 })

    const put = await t.putKnobs({ errorRate: 1 })
    expect(put.status).toBe(200)
    expect(JSON.parse(put.body)).toMatchObject({ errorRate: 1, latencyMs: 0 })
    expect(countStatuses(await t.burst(5))).toEqual({ 500: 5 })
    expect(t.knobs.errorRate).toBe(1)

    // Flag spelling works too.
    expect((await t.putKnobs({ 'error-rate': 0 })).status).toBe(200)
    expect(countStatuses(await t.burst(5))).toEqual({ 200: 5 })

    const before = (await t.get('/__knobs')).body
    for (const [body, message] of [
      [{ errorRate: 2 }, /error-rate must be a fraction between 0 and 1 \(got 2\)/],
      [{ latencyMs: 10, errorRate: 5 }, /error-rate/],
      [{ latency: -1 }, /latency must be a non-negative/],
      [{ overload: 'drop' }, /overload must be "shed" or "queue"/],
      [{ capacity: 0 }, /capacity must be a positive/],
      [{ nope: 1 }, /unknown knob "nope"/],
      [{ port: 1234 }, /port cannot be changed at runtime/],
      ['{"latency": ', /JSON/],
      ['', /must be a JSON object/],
      ['[1]', /must be a JSON object/],
    ] as const) {
      const r = await t.putKnobs(body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      const answer = JSON.parse(r.body) as { ok: boolean; error: string }
      expect(answer.ok).toBe(false)
      expect(answer.error).toMatch(message)
    }
    // Nothing from the rejected patches leaked into the live knobs.
    expect((await t.get('/__knobs')).body).toBe(before)
    expect(t.knobs).toMatchObject({ latencyMs: 0, errorRate: 0, capacityRps: null, overload: 'shed' })
    expect(countStatuses(await t.burst(5))).toEqual({ 200: 5 })
  })

  it('/__stats counters match what was sent, and admin requests are not counted', async () => {
    const t = await start()
    const sent: Reply[] = []
    sent.push(...(await t.burst(7)))
    await t.get('/__health')
    await t.get('/__knobs')
    expect(await t.getStats()).toEqual({
      requests: 7,
      ok: 7,
      errors5xx: 0,
      shed: 0,
      maxQueue: 0,
      queued: 0,
      stallsDone: 0,
      leakedKb: 0,
    })

    await t.putKnobs({ errorRate: 1 })
    sent.push(...(await t.burst(4)))
    await t.putKnobs({ errorRate: 0.5, capacityRps: 5, overload: 'shed' })
    sent.push(...(await t.burst(12)))

    const counts = countStatuses(sent)
    const stats = await t.getStats()
    expect(stats).toMatchObject({
      requests: 23,
      ok: counts[200] ?? 0,
      errors5xx: counts[500] ?? 0,
      shed: counts[503] ?? 0,
    })
    expect(counts[500]).toBeGreaterThanOrEqual(4)
    expect(counts[503]).toBeGreaterThanOrEqual(1)
    // The endpoint and the in-process object report the same numbers.
    expect(stats).toEqual({ ...t.stats })
  })

  it('leaks about leak-kb-per-s KB per second while listening', async () => {
    const t = await start({ leakKbPerS: 1024 })
    const started = performance.now()
    await delay(600)
    const { leakedKb } = await t.getStats()
    const elapsedS = (performance.now() - started) / 1000
    // Ticks every 250 ms: at least one has happened, and never more than the rate allows.
    expect(leakedKb).toBeGreaterThanOrEqual(1024 * 0.25 * 0.9)
    expect(leakedKb).toBeLessThanOrEqual(1024 * (elapsedS + 0.05) + 1)
  })
})

describe('demo target binary (child process)', () => {
  it('stalls its event loop once, stall-after ms after the first request, for stall-for ms', async () => {
    child = await startDemoTarget('--stall-after', '100', '--stall-for', '500')
    const agent = new http.Agent({ keepAlive: true })
    try {
      const first = await send(agent, `${child.url}/`)
      expect(first.status).toBe(200)

      // Sequential requests straight after the first one; the one in flight when the stall starts
      // waits for all of it. Bounded by count and by time.
      const loopStarted = performance.now()
      let slowest = 0
      let quickBefore = 0
      for (let i = 0; i < 2000 && performance.now() - loopStarted < 4000; i++) {
        const r = await send(agent, `${child.url}/`)
        expect(r.status).toBe(200)
        slowest = Math.max(slowest, r.ms)
        if (r.ms >= 300) break
        quickBefore++
      }
      expect(quickBefore).toBeGreaterThan(0)
      expect(slowest).toBeGreaterThanOrEqual(400)
      expect(slowest).toBeLessThan(3000)

      const afterStall = JSON.parse((await send(agent, `${child.url}/__stats`)).body) as Record<string, number>
      expect(afterStall.stallsDone).toBe(1)

      // One-shot: a later request does not arm a second stall (which would run ~100..600 ms from now).
      expect((await send(agent, `${child.url}/`)).status).toBe(200)
      await delay(350)
      const later = await send(agent, `${child.url}/__stats`)
      expect((JSON.parse(later.body) as Record<string, number>).stallsDone).toBe(1)
      expect(later.ms).toBeLessThan(300)
    } finally {
      agent.destroy()
    }
  })

  it('exits with code 2 and names the flag when a knob is invalid', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [demoTargetBin, '--capacity', '0'], { timeout: 10_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      )
    })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(
      /^demo-target: --capacity must be a positive number of requests per second \(got "0"\)\n$/,
    )
  })
})
