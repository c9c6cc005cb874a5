import type { RunSummary } from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { agentCall as agentRequest } from '../helpers/agent-call.js'
import { startController, testToken, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * C1: an unauthenticated `PUT /api/agents/evil` registered a fake agent that received the next run,
 * answered with forged windows, and made a `p99 < 2ms` run pass while the target served nothing.
 * Agents must now sign every request with GAUNTLET_AGENT_SECRET; without one the controller takes no
 * remote agent at all.
 */
describe('C1: a forged agent', () => {
  let target: ChildServer
  /** A server posing as an agent: it counts every order it is sent and accepts them all. */
  let fake: Server
  let fakeOrders = 0
  let fakeUrl: string
  const started: ControllerUnderTest[] = []

  beforeAll(async () => {
    // 20 ms per request: an honest measurement can never meet p99 < 2ms.
    target = await startDemoTarget('--latency', '20')
    fake = createServer((request, response) => {
      fakeOrders++
      request.resume()
      response.writeHead(202, { 'content-type': 'application/json' }).end('{}')
    })
    fake.listen(0, '127.0.0.1')
    await once(fake, 'listening')
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`
  })
  afterAll(async () => {
    await target.stop()
    fake.close()
  })
  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()))
  })

  async function controller(env: NodeJS.ProcessEnv, args: string[] = []): Promise<ControllerUnderTest> {
    const c = await startController({ env, args })
    started.push(c)
    return c
  }

  const heartbeat = () => JSON.stringify({ url: fakeUrl, capacityRps: 1_000_000, runs: [], version: 'evil' })
  const agentCall = (
    c: ControllerUnderTest,
    path: string,
    body: string,
    headers: Record<string, string> = {},
    method = 'PUT',
  ) => agentRequest(c.url, method, path, body, headers)
  const targetRequests = async (): Promise<number> =>
    ((await (await fetch(`${target.url}/__stats`)).json()) as { requests: number }).requests
  const agentNames = async (c: ControllerUnderTest): Promise<string[]> =>
    ((await (await c.api('/api/agents')).json()) as Array<{ name: string }>).map((a) => a.name)

  async function expectRefused(response: Response): Promise<void> {
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(((await response.json()) as { code: string }).code).toBe('unauthorized')
  }

  it(`without GAUNTLET_AGENT_SECRET: every agent request is refused and runs go to the embedded agent, \
which really loads the target`, async () => {
    const c = await controller({ GAUNTLET_AGENT_SECRET: '' })
    await c.waitForLine(/embedded agent only/)

    await expectRefused(await agentCall(c, '/api/agents/evil', heartbeat()))
    // Even a request signed with a guessed secret: there is no secret, so nothing can be signed right.
    const path = '/api/agents/evil'
    await expectRefused(await agentCall(c, path, heartbeat(), signRequest('', 'PUT', `${c.url}${path}`, heartbeat())))
    await expectRefused(
      await agentCall(c, path, heartbeat(), signRequest('guess', 'PUT', `${c.url}${path}`, heartbeat())),
    )
    await expectRefused(
      await agentCall(c, '/api/agents/evil/reports', JSON.stringify({ runId: 'x', windows: [] }), {}, 'POST'),
    )
    // The API token is not an agent credential either.
    await expectRefused(await agentCall(c, path, heartbeat(), { authorization: `Bearer ${testToken}` }))
    expect(await agentNames(c)).toEqual([])

    const before = await targetRequests()
    const client = new ControllerClient(c.url, testToken)
    const id = await client.startRun(
      `name: c1\ntarget: { url: "${target.url}/orders" }\nload:\n  steps: [{ rps: 50, duration: 2s }]\n` +
        `thresholds: ["p99 < 2ms"]\n`,
      undefined,
    )
    let summary: RunSummary | null = null
    for await (const event of client.follow(id)) {
      if (event.event === 'status' && event.data.status !== 'running') {
        summary = event.data.summary
        break
      }
    }
    expect(summary?.status).toBe('failed')
    expect(summary?.agents ?? []).toEqual([])
    // The target's own count: the embedded agent sent the run's ~100 requests; the fake got no order.
    expect((await targetRequests()) - before).toBeGreaterThanOrEqual(90)
    expect(fakeOrders).toBe(0)
    expect(await c.healthy()).toBe(true)
  })

  it(`with GAUNTLET_AGENT_SECRET: unsigned, forged, stale, \
tampered and replayed agent requests are all refused`, async () => {
    const secret = 'c1-agent-secret-1b7e'
    const c = await controller({ GAUNTLET_AGENT_SECRET: secret }, ['--agents', 'remote'])
    const path = '/api/agents/evil'
    const body = heartbeat()

    await expectRefused(await agentCall(c, path, body))
    await expectRefused(await agentCall(c, path, body, { authorization: `Bearer ${secret}` }))
    await expectRefused(await agentCall(c, path, body, signRequest('not-the-secret', 'PUT', `${c.url}${path}`, body)))
    await expectRefused(
      await agentCall(c, path, body, signRequest(secret, 'PUT', `${c.url}${path}`, body, Date.now() - 60_000)),
    )
    await expectRefused(
      await agentCall(c, path, body, signRequest(secret, 'PUT', `${c.url}${path}`, body, Date.now() + 60_000)),
    )
    await expectRefused(
      await agentCall(
        c,
        path,
        JSON.stringify({ url: fakeUrl, capacityRps: 5, runs: [], version: 'evil' }),
        signRequest(secret, 'PUT', `${c.url}${path}`, body),
      ),
    )
    await expectRefused(
      await agentCall(c, '/api/agents/other', body, signRequest(secret, 'PUT', `${c.url}${path}`, body)),
    )
    expect(await agentNames(c)).toEqual([])

    // A request an agent really signed, captured on the wire, is taken once and never again.
    const captured = signRequest(secret, 'PUT', `${c.url}/api/agents/honest`, body)
    expect((await agentCall(c, '/api/agents/honest', body, captured)).status).toBe(200)
    await expectRefused(await agentCall(c, '/api/agents/honest', body, captured))
    expect(await agentNames(c)).toEqual(['honest'])
    expect(await c.healthy()).toBe(true)
  })

  it('--agents remote without GAUNTLET_AGENT_SECRET refuses to start, with one clear line and exit 2', async () => {
    const result = await runCli(['controller', '--port', '0', '--agents', 'remote', '--db', join(tempDir(), 'c.db')], {
      env: { GAUNTLET_AGENT_SECRET: '', GAUNTLET_TOKEN: testToken },
    })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/--agents remote needs GAUNTLET_AGENT_SECRET/),
    ])
  })

  it('an agent without GAUNTLET_AGENT_SECRET refuses to start (exit 2)', async () => {
    const result = await runCli(['agent', '--controller', 'http://127.0.0.1:9/'], {
      env: { GAUNTLET_AGENT_SECRET: '' },
    })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/GAUNTLET_AGENT_SECRET/)])
  })
})
