// From the built packages: agents run in this process (with fake fault engines), the controller in its own.
import { bypassWaitMs, parseTargetAllowList, startAgent, type RunningAgent } from '@gauntlet/agent'
import type { RunSummary } from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startDemoTarget, startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { FakeFaultEngine } from '../helpers/fake-fault-engine.js'

const secret = 'fault-routing-secret-5c2e'

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined) return value
    await delay(50)
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`)
}

interface AgentView {
  name: string
  faults?: { injector: string; containers: number; services: string[] }
}

/**
 * Faults routed to agents: a controller with no Docker access (`--agents remote`, no --docker) sends
 * each fault to the fault-capable agent whose engine holds its target, and refuses (409, before any
 * load) one that no agent can reach. Agents here carry fake engines: routing, not tc, is under test.
 */
describe('faults from agents', () => {
  let controller: ChildServer
  let target: ChildServer
  const agents: RunningAgent[] = []
  const east = new FakeFaultEngine({ 'orders-1': { service: 'orders' }, 'db-1': { service: 'db' } })
  const west = new FakeFaultEngine({ 'payments-1': { service: 'payments' } })
  const lines: string[] = []

  async function agent(name: string, engine?: FakeFaultEngine): Promise<RunningAgent> {
    const started = await startAgent({
      controllerUrl: controller.url,
      name,
      host: '127.0.0.1',
      port: 0,
      capacityRps: 1000,
      secret,
      allow: parseTargetAllowList(undefined),
      log: (line) => lines.push(`${name}: ${line}`),
      ...(engine ? { docker: { socket: '/var/run/docker.sock', injector: 'host', engine, view: engine } } : {}),
    })
    agents.push(started)
    return started
  }
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${controller.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init.headers } })

  beforeAll(async () => {
    target = await startDemoTarget()
    controller = await startGauntlet(
      ['controller', '--port', '0', '--db', join(tempDir(), 'c.db'), '--agents', 'remote'],
      { GAUNTLET_AGENT_SECRET: secret },
    )
    await agent('east', east)
    await agent('west', west)
    await agent('plain')
    await until('three agents, two with an inventory', async () => {
      const listed = (await (await api('/api/agents')).json()) as AgentView[]
      return listed.length === 3 && listed.filter((a) => a.faults?.containers).length === 2 ? listed : undefined
    })
  })
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close()))
    await controller?.stop()
    await target?.stop()
  })

  it('GET /api/agents shows which agents can inject faults and what their engines run', async () => {
    const listed = (await (await api('/api/agents')).json()) as AgentView[]
    expect(listed.map((a) => [a.name, a.faults])).toEqual([
      ['east', { injector: 'host', containers: 2, services: ['db', 'orders'], labels: [] }],
      ['plain', undefined],
      ['west', { injector: 'host', containers: 1, services: ['payments'], labels: [] }],
    ])
    expect(east.calls[0]).toEqual({ op: 'recover' })
  })

  it(`an ad hoc fault goes to the agent whose engine holds its target; list and revert go there too`, async () => {
    const created = await api('/api/faults', {
      method: 'POST',
      body: JSON.stringify({ type: 'partition', target: { service: 'payments' }, duration: '60s' }),
    })
    expect(created.status).toBe(201)
    const fault = (await created.json()) as { id: string; agent: string; targets: string[] }
    expect(fault).toMatchObject({ agent: 'west', targets: ['payments-1'] })
    expect(west.applied).toEqual([fault.id])
    expect(east.applied).toEqual([])

    const listed = (await (await api('/api/faults')).json()) as Array<{ id: string; agent: string }>
    expect(listed.map((f) => [f.id, f.agent])).toEqual([[fault.id, 'west']])

    const deleted = await api(`/api/faults/${fault.id}`, { method: 'DELETE' })
    expect(deleted.status).toBe(200)
    expect(await deleted.json()).toMatchObject({ id: fault.id, agent: 'west', revertVerified: true })
    expect(await (await api('/api/faults')).json()).toEqual([])
    expect((await api('/api/faults/adhoc-nothere', { method: 'DELETE' })).status).toBe(404)
  })

  it('a fault no agent can reach is refused with 409 naming the target and what each agent answered', async () => {
    const refused = await api('/api/faults', {
      method: 'POST',
      body: JSON.stringify({ type: 'partition', target: { container: 'nowhere-1' }, duration: '5s' }),
    })
    expect(refused.status).toBe(409)
    const { detail } = (await refused.json()) as { detail: string }
    expect(detail).toMatch(/container "nowhere-1"/)
    expect(detail).toMatch(/agent east: no container "nowhere-1"/)
    expect(detail).toMatch(/agent west: no container "nowhere-1"/)
  })

  it(`a run's fault is applied by the agent holding its target, on the run's clock, reverted at its end, \
and the summary says which agent held it`, async () => {
    const client = new ControllerClient(controller.url, undefined)
    const yaml =
      `name: routed\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 20, duration: 3s }]\n` +
      `faults:\n  - { type: partition, target: { service: orders }, at: 1s, duration: 1s }\n`
    const id = await client.startRun(yaml, undefined)
    let summary: RunSummary | undefined
    for await (const event of client.follow(id))
      if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
    const [record] = summary!.faults!
    expect(record).toMatchObject({ agent: 'east', targets: ['orders-1'], revertVerified: true })
    expect(Date.parse(record!.revertedAt!) - Date.parse(record!.appliedAt!)).toBeGreaterThanOrEqual(900)
    const ofRun = (engine: FakeFaultEngine) => engine.calls.filter((c) => c.id?.startsWith(id.toLowerCase()))
    // Prepared by the run (its admission asked under the scenario's fault id), applied and reverted once, by
    // the holder of the target only.
    expect(ofRun(east).map((c) => c.op)).toEqual(['prepare', 'apply', 'revert'])
    expect(ofRun(west).map((c) => c.op)).toEqual([])
  })

  it(`a run's proxy delay is reverted in two halves: new connections bypass the proxy before it drains`, async () => {
    const client = new ControllerClient(controller.url, undefined)
    const yaml =
      `name: proxied\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 20, duration: 3s }]\n` +
      `faults:\n  - { type: delay, mode: proxy, port: 8080, latency: 50ms, target: { service: payments }, ` +
      `at: 1s, duration: 1s }\n`
    const id = await client.startRun(yaml, undefined)
    let summary: RunSummary | undefined
    for await (const event of client.follow(id))
      if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
    expect(summary!.faults).toMatchObject([{ agent: 'west', mechanism: 'proxy', revertVerified: true }])
    const ofRun = west.calls.filter((c) => c.id?.startsWith(id.toLowerCase())).map((c) => c.op)
    expect(ofRun).toEqual(['prepare', 'apply', 'revert', 'bypassed', 'drained'])
    // The proxy drained on the controller's second half (after it moved its load), not on the agent's 5 s bound.
    const at = (op: string) => west.calls.find((c) => c.op === op && c.id?.startsWith(id.toLowerCase()))!.at!
    expect(at('drained') - at('bypassed')).toBeLessThan(bypassWaitMs)
  })

  it(`a run whose fault no agent can reach is refused with 409 before anything is stored or loaded`, async () => {
    const runsBefore = (await (await api('/api/runs')).json()) as { runs?: unknown[] } | unknown[]
    const yaml =
      `name: unreachable\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 20, duration: 2s }]\n` +
      `faults:\n  - { type: partition, target: { service: inventory }, at: 1s, duration: 1s }\n`
    const response = await api('/api/runs', { method: 'POST', body: JSON.stringify({ yaml }) })
    expect(response.status).toBe(409)
    const { detail } = (await response.json()) as { detail: string }
    expect(detail).toMatch(/compose service "inventory"/)
    expect(detail).toMatch(/agent east: .*inventory/)
    expect(await (await api('/api/runs')).json()).toEqual(runsBefore)
    for (const a of agents) {
      const url = `${a.url}/assignments`
      const listed = await fetch(url, { headers: signRequest(secret, 'GET', url, undefined) })
      expect(await listed.json()).toEqual([])
    }
  })

  it('an agent started without --docker answers fault orders with 409 saying so', async () => {
    const plain = agents[2]!
    const url = `${plain.url}/faults`
    const response = await fetch(url, { headers: signRequest(secret, 'GET', url, undefined) })
    expect(response.status).toBe(409)
    expect(((await response.json()) as { detail: string }).detail).toMatch(/started without --docker/)
  })
})
