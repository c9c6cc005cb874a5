import type { Assignment, RunSummary } from '@gauntlet/contracts'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll } from 'vitest'
import { signedAgentCall } from './agent-call.js'
import { startDemoTarget, type ChildServer } from './child-server.js'
import { startController, type ControllerUnderTest } from './controller.js'

/** A server posing as an agent: it takes every order (202) and keeps the assignments it was sent. */
export interface PosingAgent {
  url: string
  assignments: Assignment[]
  close(): void
}

export async function startPosingAgent(): Promise<PosingAgent> {
  const assignments: Assignment[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/assignments')
        assignments.push(JSON.parse(Buffer.concat(chunks).toString()) as Assignment)
      response.writeHead(202, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    assignments,
    close: () => server.close(),
  }
}

/** A real controller taking remote agents, the demo target to load, and a posing agent to hold the runs. */
export interface PosingAgentRig {
  readonly c: ControllerUnderTest
  readonly target: ChildServer
  readonly agent: PosingAgent
  /** A call to the controller signed with the agents' secret, as an agent signs it. */
  signed(method: string, path: string, body: unknown): Promise<Response>
}

/**
 * The rig for one describe block: started before its tests (the controller signing with `secret`), stopped
 * after them. Its fields are set once the block's tests run.
 */
export function posingAgentRig(secret: string): PosingAgentRig {
  const parts = {} as { c: ControllerUnderTest; target: ChildServer; agent: PosingAgent }
  beforeAll(async () => {
    parts.target = await startDemoTarget()
    parts.agent = await startPosingAgent()
    parts.c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret }, args: ['--agents', 'remote'] })
  })
  afterAll(async () => {
    await parts.c?.stop()
    await parts.target?.stop()
    parts.agent?.close()
  })
  return Object.assign(parts, {
    signed: (method: string, path: string, body: unknown): Promise<Response> =>
      signedAgentCall(parts.c.url, secret, method, path, JSON.stringify(body)),
  })
}

/**
 * Starts a run (one step at 5 rps for 5 s against the rig's target, plus `extra` lines) and resolves with its
 * id once its assignment has reached the posing agent (bounded, 5 s).
 */
export async function startAssignedRun(rig: PosingAgentRig, name: string, extra = ''): Promise<string> {
  const yaml = `name: ${name}\ntarget: { url: "${rig.target.url}/orders" }\nload:\n  steps: [{ rps: 5, duration: 5s }]\n${extra}`
  const started = await rig.c.api('/api/runs', { body: { yaml } })
  if (started.status !== 201) throw new Error(`POST /api/runs answered ${started.status}: ${await started.text()}`)
  const runId = ((await started.json()) as { id: string }).id
  const assigned = (): boolean => rig.agent.assignments.some((a) => a.runId === runId)
  for (let i = 0; i < 100 && !assigned(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  if (!assigned()) throw new Error(`run ${runId} was not assigned to the posing agent within 5 s`)
  return runId
}

/** Polls (bounded, 15 s) until the run has ended; returns its summary. */
export async function endedRunSummary(c: ControllerUnderTest, runId: string): Promise<RunSummary> {
  for (let i = 0; i < 150; i++) {
    const run = (await (await c.api(`/api/runs/${runId}`)).json()) as { status: string; summary: RunSummary | null }
    if (run.status !== 'running') return run.summary!
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`run ${runId} did not end within 15 s`)
}
