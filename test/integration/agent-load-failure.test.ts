import type { Assignment, RunSummary } from '@gauntlet/contracts'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signedAgentCall } from '../helpers/agent-call.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * An agent whose load failed (a load thread that failed, or was terminated when stuck) tells the
 * controller why with its last report, and the run names that reason for the agent it lost. Before, the
 * run only said "its load ended early (aborted)" and the reason stayed in the agent's own log.
 */
describe("an agent's load failure reaches the run", () => {
  const secret = 'load-failure-secret-7c1e'
  let target: ChildServer
  let c: ControllerUnderTest
  /** A server posing as the agent: it takes every order and keeps the assignments it was sent. */
  let fake: Server
  let fakeUrl: string
  const assignments: Assignment[] = []

  beforeAll(async () => {
    target = await startDemoTarget()
    fake = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/assignments')
          assignments.push(JSON.parse(Buffer.concat(chunks).toString()) as Assignment)
        response.writeHead(202, { 'content-type': 'application/json' }).end('{}')
      })
    })
    fake.listen(0, '127.0.0.1')
    await once(fake, 'listening')
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
  })
  afterAll(async () => {
    await c?.stop()
    await target?.stop()
    fake?.close()
  })

  const signed = (method: string, path: string, body: unknown): Promise<Response> =>
    signedAgentCall(c.url, secret, method, path, JSON.stringify(body))
  const heartbeat = (): Promise<Response> =>
    signed('PUT', '/api/agents/failing', { url: fakeUrl, capacityRps: 1000, runs: [], version: 'test' })

  /** Polls (bounded) until the run has ended; returns its summary. */
  async function summaryOf(runId: string): Promise<RunSummary> {
    for (let i = 0; i < 150; i++) {
      const run = (await (await c.api(`/api/runs/${runId}`)).json()) as { status: string; summary: RunSummary | null }
      if (run.status !== 'running') return run.summary!
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`run ${runId} did not end within 15 s`)
  }

  it('names the reason the agent gave for the agent it lost', async () => {
    expect((await heartbeat()).status).toBe(200)
    const beating = setInterval(() => void heartbeat(), 500)
    try {
      const started = await c.api('/api/runs', {
        body: {
          yaml: `name: failing\ntarget: { url: "${target.url}/orders" }\nload:\n  steps: [{ rps: 5, duration: 5s }]\n`,
        },
      })
      expect(started.status).toBe(201)
      const runId = ((await started.json()) as { id: string }).id
      for (let i = 0; i < 100 && !assignments.some((a) => a.runId === runId); i++)
        await new Promise((resolve) => setTimeout(resolve, 50))
      expect(assignments.some((a) => a.runId === runId)).toBe(true)

      const reason = 'load thread 2 of 2 did not stop within 5 s of being asked and was terminated'
      const done = await signed('POST', '/api/agents/failing/reports', {
        runId,
        windows: [],
        done: { aborted: true, peakConnections: 1, failure: reason },
      })
      expect(done.status).toBeLessThan(300)
      const summary = await summaryOf(runId)
      expect(summary.agentLosses?.map((l) => [l.agent, l.reason])).toEqual([['failing', `its load failed: ${reason}`]])
      expect(summary.warnings.join('\n')).toContain(`its load failed: ${reason}`)
    } finally {
      clearInterval(beating)
    }
    expect(await c.healthy()).toBe(true)
  }, 30_000)
})
