import { AgentFaults, Assignments, buildAgentApp, parseTargetAllowList } from '@gauntlet/agent'
import { maxHeartbeatBytes, type FaultSpec } from '@gauntlet/contracts'
import { parseAllowList, signRequest } from '@gauntlet/http'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AgentClient } from '../../apps/controller/src/agents/agent-client.js'
import { FakeFaultEngine } from '../helpers/fake-fault-engine.js'
import { startController } from '../helpers/controller.js'
import { signedAgentCall } from '../helpers/agent-call.js'

const secret = 'fault-orders-secret-91ab'
const spec: FaultSpec = {
  id: 'f-1',
  type: 'partition',
  target: { container: 'orders-1' },
  mechanism: 'iptables',
  durationMs: 60_000,
}

function signed(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, key = secret): InjectOptions {
  const body = payload === undefined ? undefined : JSON.stringify(payload)
  return {
    method,
    url,
    headers: {
      ...signRequest(key, method, `http://localhost${url}`, body),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: body }),
  }
}

/**
 * C3: the fault routes of an agent started with --docker change networks with root on its host. Only
 * its controller may order them: unsigned, forged, replayed and tampered orders are refused before the
 * engine hears of them; and the controller believes no malformed answer from an agent.
 */
describe('C3: forged fault orders', () => {
  let app: FastifyInstance
  const engine = new FakeFaultEngine({ 'orders-1': {} })
  let faults: AgentFaults

  beforeAll(async () => {
    faults = new AgentFaults(engine, engine, 'host', () => {})
    await faults.start()
    const assignments = new Assignments(parseTargetAllowList(undefined), { window: () => {}, done: () => {} }, () => 0)
    app = buildAgentApp({ name: 'a1', secret, assignments, faults })
    await app.ready()
  })
  afterAll(async () => {
    await faults.close('test over')
    await app.close()
  })

  const orders: Array<[string, 'GET' | 'POST' | 'DELETE', string, unknown]> = [
    ['prepare', 'POST', '/faults/prepare', { spec }],
    ['apply', 'POST', '/faults', { spec, untilEpochMs: Date.now() + 60_000 }],
    ['revert', 'DELETE', '/faults/f-1', undefined],
    ['bypass', 'POST', '/faults/f-1/bypass', undefined],
    ['list', 'GET', '/faults', undefined],
  ]

  it.each(orders)(
    '%s: unsigned, bearer, wrong-secret, replayed and tampered orders get 401',
    async (_n, method, url, body) => {
      const before = engine.calls.length
      const payload = body === undefined ? {} : { payload: body as object }
      expect((await app.inject({ method, url, ...payload })).statusCode).toBe(401)
      expect(
        (await app.inject({ method, url, ...payload, headers: { authorization: `Bearer ${secret}` } })).statusCode,
      ).toBe(401)
      expect((await app.inject(signed(method, url, body, `${secret}x`))).statusCode).toBe(401)
      if (body !== undefined) {
        // Signed for one body, sent with another: the digest of what arrived does not match.
        const order = signed(method, url, body)
        const tampered = { ...order, payload: JSON.stringify({ spec: { ...spec, durationMs: 3_600_000 } }) }
        expect((await app.inject(tampered)).statusCode).toBe(401)
      }
      const order = signed(method, url, body)
      const first = await app.inject(order)
      expect(first.statusCode).not.toBe(401)
      expect((await app.inject(order)).statusCode).toBe(401)
      // Only the one genuine order reached the engine (list reads its state, which FakeFaultEngine does not record).
      expect(engine.calls.length - before).toBe(method === 'GET' ? 0 : 1)
    },
  )

  it('a signed order cannot hold a fault beyond 24 h, nor end it in the past', async () => {
    const before = engine.calls.length
    const day = 24 * 3_600_000
    const tooLong = await app.inject(
      signed('POST', '/faults', {
        spec: { ...spec, id: 'f-long', durationMs: day + 1 },
        untilEpochMs: Date.now() + 60_000,
      }),
    )
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.body).toMatch(/durationMs/)
    const farUntil = await app.inject(
      signed('POST', '/faults', { spec: { ...spec, id: 'f-far' }, untilEpochMs: Date.now() + 7 * day }),
    )
    expect(farUntil.statusCode).toBe(400)
    expect(farUntil.body).toMatch(/untilEpochMs/)
    const past = await app.inject(
      signed('POST', '/faults', { spec: { ...spec, id: 'f-past' }, untilEpochMs: Date.now() - 1_000 }),
    )
    expect(past.statusCode).toBe(400)
    expect(past.body).toMatch(/untilEpochMs/)
    // None of them reached the engine; a full day from now still does.
    expect(engine.calls.length).toBe(before)
    const fullDay = await app.inject(
      signed('POST', '/faults', { spec: { ...spec, id: 'f-day', durationMs: day }, untilEpochMs: Date.now() + day }),
    )
    expect(fullDay.statusCode).toBe(201)
    expect(engine.applied).toContain('f-day')
  })

  it('a signed placement check (check: true) asks the engine to start nothing', async () => {
    const before = engine.calls.length
    const check = await app.inject(signed('POST', '/faults/prepare', { spec: { ...spec, id: 'f-check' }, check: true }))
    expect(check.statusCode).toBe(200)
    const real = await app.inject(signed('POST', '/faults/prepare', { spec: { ...spec, id: 'f-real' } }))
    expect(real.statusCode).toBe(200)
    expect(engine.calls.slice(before)).toEqual([
      { op: 'prepare', id: 'f-check', warm: false },
      { op: 'prepare', id: 'f-real', warm: true },
    ])
  })

  it('the controller asks for a check with check: true, and for a real prepare without it', async () => {
    const bodies: unknown[] = []
    const server = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        bodies.push(JSON.parse(body))
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ spec, targets: ['orders-1'] }))
      })
    })
    try {
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const client = new AgentClient(secret, parseAllowList(undefined, 'GAUNTLET_AGENT_ALLOW'))
      await client.prepareFault(url, spec, true)
      await client.prepareFault(url, spec)
      expect(bodies).toEqual([{ spec, check: true }, { spec }])
    } finally {
      server.close()
    }
  })

  it('the controller believes no malformed answer to a fault order', async () => {
    let server: Server | undefined
    try {
      server = createServer((request, response) => {
        request.resume()
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ spec: { ...spec, mechanism: 'rm -rf' }, targets: 'everything' }))
      })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const client = new AgentClient(secret, parseAllowList(undefined, 'GAUNTLET_AGENT_ALLOW'))
      await expect(client.prepareFault(url, spec)).rejects.toMatchObject({
        code: 'fault_failed',
        message: expect.stringMatching(/malformed/) as string,
      })
    } finally {
      server?.close()
    }
  })

  it('a heartbeat cannot carry an inventory beyond its caps', async () => {
    const controller = await startController({ env: { GAUNTLET_AGENT_SECRET: secret } })
    try {
      const beat = (faults: unknown) =>
        JSON.stringify({ url: 'http://127.0.0.1:9/', capacityRps: 10, runs: [], version: 't', faults })
      const inventory = { injector: 'host', containers: 1, services: ['orders'] }
      const call = (body: string) => signedAgentCall(controller.url, secret, 'PUT', '/api/agents/a1', body)
      expect((await call(beat(inventory))).status).toBe(200)
      const tooMany = { ...inventory, services: Array.from({ length: 101 }, (_, i) => `s${i}`) }
      expect((await call(beat(tooMany))).status).toBe(400)
      const quoted = { ...inventory, labels: ['a="b"'] }
      expect((await call(beat(quoted))).status).toBe(400)
      // The largest legal inventory fits the heartbeat's body limit.
      const largest = {
        ...inventory,
        services: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(160, 's')),
        labels: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(160, 'l')),
        truncated: true,
        error: 'e'.repeat(300),
      }
      expect(Buffer.byteLength(beat(largest))).toBeLessThan(maxHeartbeatBytes)
      expect((await call(beat(largest))).status).toBe(200)
    } finally {
      await controller.stop()
    }
  })
})
