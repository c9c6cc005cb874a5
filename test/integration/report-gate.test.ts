import { signRequest } from '@gauntlet/http'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signedAgentCall } from '../helpers/agent-call.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * Agents' reports wait at the controller's gate (apps/controller/src/http/report-gate.ts) between their
 * signature and their body. What they hold there must be given back whatever happens to their
 * connection, and a report whose body is slow to arrive must hold up its own agent only.
 */
describe("the gate agents' reports wait at", () => {
  const secret = 'gate-agent-secret-3e9b'
  let c: ControllerUnderTest
  let port: number
  const open: Socket[] = []

  beforeAll(async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
    port = Number(new URL(c.url).port)
  })
  afterAll(async () => {
    for (const socket of open) socket.destroy()
    await c?.stop()
  })

  /** A report for a run this controller does not have: once let in and read, it is answered 404. */
  const body = JSON.stringify({ runId: 'no-such-run', windows: [] })

  /** The bytes of a signed report request of `agent` (the whole body unless `sent` says how much of it). */
  function reportRequest(agent: string, sent = body.length): string {
    const path = `/api/agents/${agent}/reports`
    const headers = signRequest(secret, 'POST', `http://127.0.0.1:${port}${path}`, body)
    return (
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `\r\n${body.slice(0, sent)}`
    )
  }

  async function rawConnection(): Promise<Socket> {
    const socket = connect(port, '127.0.0.1')
    open.push(socket)
    socket.on('error', () => undefined)
    await once(socket, 'connect')
    return socket
  }

  /** The gate's load as /metrics tells it. */
  async function gate(): Promise<{ inProgress: number; waiting: number }> {
    const text = await (await c.api('/metrics')).text()
    const value = (state: string): number =>
      Number(new RegExp(`^gauntlet_agent_reports\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1])
    return { inProgress: value('in_progress'), waiting: value('waiting') }
  }

  const report = (agent: string): Promise<Response> =>
    signedAgentCall(c.url, secret, 'POST', `/api/agents/${agent}/reports`, body)

  it(`gives up a report's place when its connection closes, a pipelined one included (its reply is not yet \
tied to the socket): the agent's next report is let in and answered`, async () => {
    // The agent's first report is let in and waits for the rest of its body.
    const uploading = await rawConnection()
    uploading.write(reportRequest('pipelined', 5))
    await expect.poll(gate).toEqual({ inProgress: 1, waiting: 0 })
    // Two more on one connection, the second pipelined behind the first: both wait for the agent's turn.
    const pipelined = await rawConnection()
    pipelined.write(reportRequest('pipelined') + reportRequest('pipelined'))
    await expect.poll(gate).toEqual({ inProgress: 1, waiting: 2 })
    // The connection goes: both places are given up (a place kept would be let in once the first report is
    // answered, and hold the agent's turn for good).
    pipelined.destroy()
    await expect.poll(gate).toEqual({ inProgress: 1, waiting: 0 })
    uploading.write(body.slice(5))
    const [answer] = (await once(uploading, 'data')) as [Buffer]
    expect(answer.toString()).toMatch(/^HTTP\/1\.1 404 /)
    // The agent is not locked out: its next report is let in and answered.
    expect((await report('pipelined')).status).toBe(404)
    await expect.poll(gate).toEqual({ inProgress: 0, waiting: 0 })
  })

  it(`lets other agents' reports through while 40 agents' report bodies are slow to arrive (the gate had 32 \
places, which slow uploads filled); the slow agent's own next report waits for its first`, async () => {
    const slow: Socket[] = []
    for (let i = 0; i < 40; i++) {
      const socket = await rawConnection()
      socket.write(reportRequest(`slow-${i}`, 5))
      slow.push(socket)
    }
    await expect.poll(gate).toEqual({ inProgress: 40, waiting: 0 })
    expect((await report('quick')).status).toBe(404)
    // slow-0's second report waits behind its first, and goes once that one is answered.
    const second = report('slow-0')
    await expect.poll(gate).toEqual({ inProgress: 40, waiting: 1 })
    slow[0]!.write(body.slice(5))
    expect((await second).status).toBe(404)
    for (const socket of slow) socket.destroy()
    await expect.poll(gate).toEqual({ inProgress: 0, waiting: 0 })
  })

  it(`answers 429 problem+json with Retry-After to an agent with 100 reports already waiting`, async () => {
    const uploading = await rawConnection()
    uploading.write(reportRequest('flood', 5))
    await expect.poll(gate).toEqual({ inProgress: 1, waiting: 0 })
    for (let i = 0; i < 100; i++) (await rawConnection()).write(reportRequest('flood'))
    await expect.poll(gate).toEqual({ inProgress: 1, waiting: 100 })
    const refused = await report('flood')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(((await refused.json()) as { code: string }).code).toBe('too_many')
    // Another agent is not held up by it.
    expect((await report('other')).status).toBe(404)
    expect(await c.healthy()).toBe(true)
  })
})
