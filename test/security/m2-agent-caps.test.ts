import { maxHeartbeatBytes, maxHeartbeatRuns } from '@gauntlet/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signedAgentCall } from '../helpers/agent-call.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * M2: heartbeats were unbounded and lost agents kept forever: 300 fake agents × 1000 `runs` entries
 * made `GET /api/agents` 31.6 MB. Now agents are capped (--max-agents), a heartbeat is small and lists
 * at most maxHeartbeatRuns runs, and lost agents are forgotten after 24 h (that expiry is tested with an
 * injected clock in test/unit/agent-registry-limits.test.ts).
 */
const secret = 'm2-agent-secret-0c4f'
const maxAgents = 5

describe('M2: agent caps', () => {
  let c: ControllerUnderTest
  beforeAll(async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--max-agents', String(maxAgents)] })
  })
  afterAll(async () => {
    await c.stop()
  })

  const heartbeatBody = (runs: string[]) =>
    JSON.stringify({ url: 'http://127.0.0.1:9/', capacityRps: 100, runs, version: 't' })
  const heartbeat = (name: string, body: string): Promise<Response> =>
    signedAgentCall(c.url, secret, 'PUT', `/api/agents/${name}`, body)
  const fullRuns = Array.from({ length: maxHeartbeatRuns }, (_, i) => `run-${i}-${'x'.repeat(90)}`)

  it(`takes ${maxAgents} agents, then refuses a new name with 429 problem+json (too_many) \
while known ones go on`, async () => {
    for (let i = 0; i < maxAgents; i++)
      expect((await heartbeat(`agent-${i}`, heartbeatBody(fullRuns))).status).toBe(200)
    const refused = await heartbeat('one-too-many', heartbeatBody([]))
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(((await refused.json()) as { code: string }).code).toBe('too_many')
    expect((await heartbeat('agent-0', heartbeatBody([]))).status).toBe(200)

    const listing = await c.api('/api/agents')
    const agents = (await listing.json()) as Array<{ name: string; reportedRuns: string[] }>
    expect(agents.map((a) => a.name)).not.toContain('one-too-many')
    expect(agents).toHaveLength(maxAgents)
    for (const agent of agents) expect(agent.reportedRuns.length).toBeLessThanOrEqual(maxHeartbeatRuns)
    expect(await c.healthy()).toBe(true)
  })

  it(`refuses a heartbeat listing more than the cap of runs (400), \
and one larger than its body limit (413)`, async () => {
    const tooManyRuns = await heartbeat(
      'agent-1',
      heartbeatBody(Array.from({ length: maxHeartbeatRuns + 1 }, (_, i) => `r${i}`)),
    )
    expect(tooManyRuns.status).toBe(400)
    const huge = JSON.stringify({
      url: 'http://127.0.0.1:9/',
      capacityRps: 100,
      runs: [],
      version: 't',
      pad: 'p'.repeat(maxHeartbeatBytes),
    })
    const tooLarge = await heartbeat('agent-1', huge)
    expect(tooLarge.status).toBe(413)
    expect(maxHeartbeatBytes).toBeLessThanOrEqual(64 * 1024)
    expect(await c.healthy()).toBe(true)
  })

  it('keeps GET /api/agents small even when every agent is at its limits', async () => {
    const listing = await (await c.api('/api/agents')).text()
    // Before: 300 agents × 1000 runs = 31.6 MB. Now at most --max-agents × maxHeartbeatRuns names of 100 characters.
    expect(listing.length).toBeLessThan(maxAgents * (maxHeartbeatRuns * 104 + 2_000))
    expect(await c.healthy()).toBe(true)
  })
})
