import type { RunSummary, WindowReport } from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import { once } from 'node:events'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { dockerGate, faultSuite, startHttpdContainer, type HttpdContainer } from '../helpers/docker.js'
import { containerAllow, journalEnv, marksIn, noMarks, windowErrors } from '../helpers/fault-load.js'

/**
 * Faults from an agent, on a real engine: the controller has no Docker access at all (DOCKER_HOST
 * points nowhere, no --docker) and routes the fault to the agent started with --docker, which applies
 * it in the target's namespace (host injector: no holder image needed) and reverts it at its end.
 */
const gate = await dockerGate()
const secret = 'agent-fault-routing-7d1e'

gate.describe('a fault-capable agent holds the faults of a controller without Docker', () => {
  const suite = faultSuite()
  let target: HttpdContainer
  let controller: ChildServer
  let agent: ChildServer

  beforeAll(async () => {
    const dir = suite.tempDir('gauntlet-agent-faults-')
    target = await startHttpdContainer({ labels: { app: 'agent-fault-routing' } })
    controller = await startGauntlet(
      ['controller', '--port', '0', '--db', join(dir, 'c.db'), '--agents', 'remote'],
      // Any Docker call of the controller's would fail: there is no engine at this address.
      { ...containerAllow, GAUNTLET_AGENT_SECRET: secret, DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    )
    agent = await startGauntlet(
      ['agent', '--controller', controller.url, '--name', 'docker-agent', '--docker', '--injector', 'host'],
      { ...containerAllow, ...journalEnv(dir), GAUNTLET_AGENT_SECRET: secret },
    )
    await agent.waitForLine(/registered with/)
  }, 120_000)
  afterAll(async () => {
    await agent?.stop()
    await controller?.stop()
  })

  it(`a run's bandwidth fault is applied by the agent in the target's namespace and reverted at its end`, async () => {
    const listed = (await (await fetch(`${controller.url}/api/agents`)).json()) as Array<{
      name: string
      faults?: { injector: string; containers: number }
    }>
    expect(listed).toMatchObject([{ name: 'docker-agent', faults: { injector: 'host' } }])
    expect(listed[0]!.faults!.containers).toBeGreaterThanOrEqual(1)

    const yaml =
      `name: agent-tbf\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 10, duration: 5s }]\n` +
      `faults:\n  - { type: bandwidth, target: { container: ${target.name} }, rate: 1mbit, at: 1s, duration: 2s }\n`
    const client = new ControllerClient(controller.url, undefined)
    const id = await client.startRun(yaml, undefined)
    // The tbf appears in the target's namespace while the fault is on: the agent put it there.
    const deadline = Date.now() + 10_000
    let seen = false
    while (!seen && Date.now() < deadline) {
      seen = (await marksIn(target.pid)).qdiscs.includes('eth0')
      if (!seen) await delay(50)
    }
    expect(seen).toBe(true)
    let summary: RunSummary | undefined
    for await (const event of client.follow(id))
      if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
    expect(summary!.faults).toMatchObject([
      { agent: 'docker-agent', mechanism: 'tbf', targets: [target.name], revertVerified: true },
    ])
    expect(await marksIn(target.pid)).toEqual(noMarks)
  })

  it(`a run whose fault target no agent has is refused with 409 before any load`, async () => {
    const runsBefore = (await (await fetch(`${controller.url}/api/runs`)).json()) as unknown[]
    const yaml =
      `name: agent-nowhere\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 10, duration: 2s }]\n` +
      `faults:\n  - { type: partition, target: { container: no-such-container-xyz }, at: 1s, duration: 1s }\n`
    const response = await fetch(`${controller.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml }),
    })
    expect(response.status).toBe(409)
    const { detail } = (await response.json()) as { detail: string }
    expect(detail).toMatch(/container "no-such-container-xyz"/)
    expect(detail).toMatch(/agent docker-agent: no container "no-such-container-xyz"/)
    expect(await (await fetch(`${controller.url}/api/runs`)).json()).toEqual(runsBefore)
    const url = `${agent.url}/assignments`
    expect(await (await fetch(url, { headers: signRequest(secret, 'GET', url, undefined) })).json()).toEqual([])
    expect(await marksIn(target.pid)).toEqual(noMarks)
  })

  it(`a run's proxy delay on the agent: the load meets the delay, and moves off the proxy without errors`, async () => {
    const yaml =
      `name: agent-proxy\ntarget: { url: "${target.url}/" }\nload:\n  steps: [{ rps: 20, duration: 6s }]\n` +
      `faults:\n  - { type: delay, mode: proxy, port: 8080, latency: 100ms, ` +
      `target: { container: ${target.name} }, at: 2s, duration: 2s }\n`
    const client = new ControllerClient(controller.url, undefined)
    const id = await client.startRun(yaml, undefined)
    let summary: RunSummary | undefined
    for await (const event of client.follow(id))
      if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
    expect(summary!.faults).toMatchObject([{ agent: 'docker-agent', mechanism: 'proxy', revertVerified: true }])
    const windows = (await (await fetch(`${controller.url}/api/runs/${id}/windows`)).json()) as Array<
      WindowReport & { latencyMs: { p50Ms: number | null } }
    >
    const p50 = (w: { latencyMs: { p50Ms: number | null } }) => Math.round(w.latencyMs.p50Ms ?? 0)
    console.log(
      `agent proxy delay 100ms: p50 by second ${windows.map(p50).join(' ')} ms, ` +
        `faulted seconds ${windows
          .filter((w) => w.faults?.length)
          .map((w) => w.index)
          .join(',')}, ` +
        `errors ${windows.map(windowErrors).join(' ')}`,
    )
    const delayed = windows.filter((w) => (w.faults ?? []).length > 0)
    expect(Math.max(...delayed.map(p50))).toBeGreaterThanOrEqual(90)
    expect(windows.map(windowErrors).reduce((a, b) => a + b, 0)).toBe(0)
    expect(await marksIn(target.pid)).toEqual(noMarks)
  })

  it(`an ad hoc fault over REST goes to the agent, and the agent reverts it when it is stopped`, async () => {
    const created = await fetch(`${controller.url}/api/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'bandwidth', target: { container: target.name }, rate: '8mbit', duration: '60s' }),
    })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ agent: 'docker-agent', mechanism: 'tbf', targets: [target.name] })
    expect((await marksIn(target.pid)).qdiscs).toEqual(['eth0'])
    const exited = once(agent.process, 'exit')
    agent.process.kill('SIGTERM')
    expect(await exited).toEqual([0, null])
    expect(agent.lines.join('\n')).toMatch(/reverted 1 fault\(s\): the agent is stopping/)
    expect(await marksIn(target.pid)).toEqual(noMarks)
  })
})
