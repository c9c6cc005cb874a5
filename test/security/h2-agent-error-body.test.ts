import type { RunSummary } from '@gauntlet/contracts'
import { once } from 'node:events'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { signedAgentCall } from '../helpers/agent-call.js'
import { startController, testToken, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * H2: an agent's error body was copied into the run's reason, readable by anyone: a registered "agent"
 * URL pointing at an internal service leaked 300 characters of its 403 page. Now only a problem+json
 * title or detail reaches a reason, cut to 200 characters; and agent URLs must be allowed by
 * GAUNTLET_AGENT_ALLOW, when they register and again when the controller connects (no redirects).
 */
const secret = 'h2-agent-secret-5d1a'
const internalPage = `<html><body>INTERNAL-ONLY admin console. session=${'s3cr3t'.repeat(60)}</body></html>`

async function serve(handler: RequestListener): Promise<{ server: Server; url: string; requests: () => number }> {
  let count = 0
  const server = createServer((request, response) => {
    count++
    request.resume()
    handler(request, response)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => count }
}

describe('H2: what an agent URL answers never leaks into a run', () => {
  let target: ChildServer
  const servers: Server[] = []
  let c: ControllerUnderTest

  beforeAll(async () => {
    target = await startDemoTarget()
  })
  afterAll(async () => {
    await target.stop()
    for (const server of servers) server.close()
  })
  afterEach(async () => {
    await c?.stop()
  })

  async function agentAt(handler: RequestListener): Promise<{ url: string; requests: () => number }> {
    const served = await serve(handler)
    servers.push(served.server)
    return served
  }

  /** Registers (or re-points) agent `name` at `url` with a correctly signed heartbeat. */
  function heartbeat(name: string, url: string): Promise<Response> {
    const body = JSON.stringify({ url, capacityRps: 10_000, runs: [], version: 't' })
    return signedAgentCall(c.url, secret, 'PUT', `/api/agents/${name}`, body)
  }

  /** Starts a short run and returns its final summary. */
  async function run(): Promise<RunSummary> {
    const client = new ControllerClient(c.url, testToken)
    const id = await client.startRun(
      `name: h2\ntarget: { url: "${target.url}/orders" }\nload:\n  steps: [{ rps: 10, duration: 1s }]\n` +
        `thresholds: ["p99 < 1s"]\n`,
      undefined,
    )
    for await (const event of client.follow(id)) {
      if (event.event === 'status' && event.data.status !== 'running') return event.data.summary!
    }
    throw new Error('no final status')
  }

  it('keeps a non-problem 403 body out of the reason entirely', async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
    const internal = await agentAt((_, response) =>
      response.writeHead(403, { 'content-type': 'text/html' }).end(internalPage),
    )
    expect((await heartbeat('a1', internal.url)).status).toBe(200)
    const summary = await run()
    expect(summary.status).toBe('error')
    expect(summary.reasons.join(' ')).toMatch(/refused \(403\)/)
    const stored = await (await c.api(`/api/runs/${summary.runId}`)).text()
    expect(stored).not.toMatch(/INTERNAL-ONLY|s3cr3t|admin console|<html/)
    expect(await c.healthy()).toBe(true)
  })

  it('keeps a problem+json detail, cut to 200 characters', async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
    const detail = `${'d'.repeat(200)}${'LEAKED-TAIL'.repeat(30)}`
    const agent = await agentAt((_, response) =>
      response
        .writeHead(409, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ title: 'Conflict', status: 409, detail, extra: 'EXTRA-FIELD' })),
    )
    expect((await heartbeat('a1', agent.url)).status).toBe(200)
    const summary = await run()
    const reason = summary.reasons.join(' ')
    expect(reason).toContain(`refused (409): ${'d'.repeat(200)}`)
    expect(reason).not.toMatch(/LEAKED-TAIL|EXTRA-FIELD/)
    expect(await c.healthy()).toBe(true)
  })

  it('refuses to register an agent URL outside GAUNTLET_AGENT_ALLOW (403 problem+json)', async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret } })
    for (const url of ['http://10.0.0.1:9000/', 'http://169.254.169.254/', 'http://internal.example.com/']) {
      const response = await heartbeat('a1', url)
      expect(response.status).toBe(403)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(((await response.json()) as { detail: string }).detail).toMatch(/GAUNTLET_AGENT_ALLOW/)
    }
    expect(await (await c.api('/api/agents')).json()).toEqual([])
    expect(await c.healthy()).toBe(true)
  })

  it(`checks the resolved address when it connects: an allowed name that resolves to a refused address gets no \
order`, async () => {
    // "localhost" is allowed by name, but it resolves to loopback, which no address pattern allows here.
    c = await startController({
      env: { GAUNTLET_AGENT_SECRET: secret, GAUNTLET_AGENT_ALLOW: 'localhost' },
      args: ['--agents', 'remote'],
    })
    const agent = await agentAt((_, response) => response.writeHead(202).end('{}'))
    expect((await heartbeat('a1', agent.url.replace('127.0.0.1', 'localhost'))).status).toBe(200)
    const summary = await run()
    expect(summary.status).toBe('error')
    expect(summary.reasons.join(' ')).toMatch(/not allowed by GAUNTLET_AGENT_ALLOW/)
    expect(agent.requests()).toBe(0)
    expect(await c.healthy()).toBe(true)
  })

  it('never follows an agent redirect: a 3xx is a refusal and its Location gets nothing', async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
    const elsewhere = await agentAt((_, response) => response.writeHead(202).end('{}'))
    const redirecting = await agentAt((request, response) =>
      response.writeHead(307, { location: `${elsewhere.url.slice(0, -1)}${request.url}` }).end(),
    )
    expect((await heartbeat('a1', redirecting.url)).status).toBe(200)
    const summary = await run()
    expect(summary.status).toBe('error')
    expect(summary.reasons.join(' ')).toMatch(/refused \(307\) \(a redirect, not followed\)/)
    expect(elsewhere.requests()).toBe(0)
    expect(await c.healthy()).toBe(true)
  })
})
