// From the built package: an assignment starts a worker thread, which runs built JavaScript.
import { parseAllowList, type ProblemDetails } from '@gauntlet/http'
import { Assignments, buildAgentApp, parseTargetAllowList, startAgent } from '@gauntlet/agent'
import type { Assignment, HeartbeatReply, RunSummary, WindowReport } from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { AgentRegistry } from '../../apps/controller/src/agents/agent-registry.js'
import { InProcessAgent } from '../../apps/controller/src/agents/in-process-agent.js'
import { tcpTargetProbe } from '../../apps/controller/src/agents/tcp-target-probe.js'
import { buildApp } from '../../apps/controller/src/http/app.js'
import { RunManager } from '../../apps/controller/src/run/run-manager.js'
import { Scheduler } from '../../apps/controller/src/schedule/scheduler.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startGauntlet } from '../helpers/child-server.js'
import { runCli, tempDir } from '../helpers/cli.js'
import { readControllerSettings } from '../../apps/controller/src/config/controller-settings.js'

const agentSecret = 'agent-secret-1'
const token = 'api-token-1'
const beat = { url: 'http://127.0.0.1:9/', capacityRps: 500, runs: [], version: 'test' }

/** An injected request signed with `secret` as agents and controllers sign theirs. */
function signed(
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
  secret = agentSecret,
): InjectOptions {
  const body = payload === undefined ? undefined : JSON.stringify(payload)
  return {
    method,
    url,
    headers: {
      ...signRequest(secret, method, `http://localhost${url}`, body),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: body }),
  }
}

/** Who may talk to whom, and what happens to malformed or unwanted messages, on both sides. */
describe('controller side of the agent protocol', () => {
  let app: FastifyInstance
  let store: SqliteStore
  let registry: AgentRegistry
  beforeAll(async () => {
    store = new SqliteStore(join(tempDir(), 'c.db'))
    registry = new AgentRegistry(Date.now, store)
    const runs = new RunManager({
      store,
      agent: new InProcessAgent(),
      probe: tcpTargetProbe(parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW')),
      clock: { now: () => new Date() },
    })
    const scheduler = new Scheduler({ store, runs, clock: { now: () => new Date() } })
    app = buildApp({
      store,
      runs,
      scheduler,
      settings: readControllerSettings(
        { host: '127.0.0.1' },
        { GAUNTLET_TOKEN: token, GAUNTLET_AGENT_SECRET: agentSecret },
      ),
      agents: registry,
    })
    await app.ready()
  })
  afterAll(async () => {
    await app.close()
    store.close()
  })

  it(`refuses heartbeats not signed with the agent secret; \
neither the API token nor the secret itself is a credential`, async () => {
    for (const authorization of [undefined, `Bearer ${token}`, `Bearer ${agentSecret}`]) {
      const reply = await app.inject({
        method: 'PUT',
        url: '/api/agents/a1',
        payload: beat,
        headers: authorization ? { authorization } : {},
      })
      expect(reply.statusCode).toBe(401)
      expect(reply.headers['content-type']).toMatch(/application\/problem\+json/)
      expect(reply.json()).toMatchObject({
        code: 'unauthorized',
        detail: expect.stringMatching(/not signed/) as string,
      })
    }
    const forged = await app.inject(signed('PUT', '/api/agents/a1', beat, `${agentSecret}x`))
    expect(forged.statusCode).toBe(401)
    expect(registry.list()).toEqual([])
  })

  it('registers an agent by its heartbeat, answers with its clock and expected runs, and stores it', async () => {
    const before = Date.now()
    const reply = await app.inject(signed('PUT', '/api/agents/a1', beat))
    expect(reply.statusCode).toBe(200)
    expect(reply.json<HeartbeatReply>().runs).toEqual([])
    expect(reply.json<HeartbeatReply>().controllerTime).toBeGreaterThanOrEqual(before)
    const listed = (
      await app.inject({ method: 'GET', url: '/api/agents', headers: { authorization: `Bearer ${token}` } })
    ).json<unknown>()
    expect(listed).toMatchObject([{ name: 'a1', state: 'ready', capacityRps: 500, url: beat.url }])
    expect(store.listAgents()).toMatchObject([{ name: 'a1', state: 'ready', capacityRps: 500 }])
  })

  it('the agent secret does not open the people API', async () => {
    const reply = await app.inject({
      method: 'POST',
      url: '/api/runs',
      payload: { scenario: 'x' },
      headers: { authorization: `Bearer ${agentSecret}` },
    })
    expect(reply.statusCode).toBe(401)
  })

  it('rejects malformed heartbeats and reports with the field at fault', async () => {
    const bad = await app.inject(signed('PUT', '/api/agents/a1', { ...beat, capacityRps: -5 }))
    expect(bad.statusCode).toBe(400)
    expect(bad.json<ProblemDetails>().problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/body/capacityRps' })]),
    )
    const unknownKey = await app.inject(signed('PUT', '/api/agents/a1', { ...beat, shell: 'rm -rf /' }))
    expect(unknownKey.statusCode).toBe(400)
    const badName = await app.inject(signed('PUT', '/api/agents/..%2Fetc', beat))
    expect(badName.statusCode).toBe(400)
    const window = { index: -1 } as unknown as WindowReport
    const badWindow = await app.inject(signed('POST', '/api/agents/a1/reports', { runId: 'r1', windows: [window] }))
    expect(badWindow.statusCode).toBe(400)
    expect(badWindow.json<ProblemDetails>().problems![0]!.path).toMatch(/^\/body\/windows\/0/)
  })

  it('answers 404 to reports for a run it is not running, so the agent stops that load', async () => {
    const reply = await app.inject(signed('POST', '/api/agents/a1/reports', { runId: 'gone', windows: [] }))
    expect(reply.statusCode).toBe(404)
    expect(reply.json<ProblemDetails>().detail).toMatch(/not in progress.*stop its load/)
  })
})

describe('agent side of the agent protocol', () => {
  let app: FastifyInstance
  const windows: WindowReport[] = []
  let assignments: Assignments
  beforeAll(async () => {
    assignments = new Assignments(
      parseTargetAllowList(undefined),
      { window: (_run, w) => windows.push(w), done: () => {} },
      () => 0,
    )
    app = buildAgentApp({ name: 'a1', secret: agentSecret, assignments })
    await app.ready()
  })
  afterAll(async () => {
    assignments.stopAll()
    await assignments.drain()
    await app.close()
  })

  const assignment = (over: Partial<Assignment> = {}): Assignment => ({
    runId: 'run-1',
    target: { url: 'http://127.0.0.1:9/', method: 'GET', headers: {}, timeoutMs: 1000 },
    steps: [{ rps: 1, durationS: 1, step: 0 }],
    maxConnections: 10,
    startAt: Date.now() + 60_000,
    ...over,
  })
  it('takes orders only signed with the shared secret, each once; /healthz is open', async () => {
    expect((await app.inject({ method: 'POST', url: '/assignments', payload: assignment() })).statusCode).toBe(401)
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: '/assignments/run-1',
          headers: { authorization: `Bearer ${agentSecret}` },
        })
      ).statusCode,
    ).toBe(401)
    expect((await app.inject(signed('DELETE', '/assignments/run-1', undefined, 'nope'))).statusCode).toBe(401)
    const order = signed('DELETE', '/assignments/run-1')
    expect((await app.inject(order)).statusCode).toBe(404)
    expect((await app.inject(order)).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ status: 'ok', name: 'a1' })
  })

  it('refuses a target outside its own allow-list, whatever the controller says (403)', async () => {
    const reply = await app.inject(
      signed(
        'POST',
        '/assignments',
        assignment({ target: { url: 'http://93.184.216.34/', method: 'GET', headers: {}, timeoutMs: 1000 } }),
      ),
    )
    expect(reply.statusCode).toBe(403)
    expect(reply.json()).toMatchObject({ code: 'target_not_allowed' })
    expect(assignments.runIds).toEqual([])
  })

  it('refuses an assignment that would start in the past, and malformed ones with their field', async () => {
    const late = await app.inject(signed('POST', '/assignments', assignment({ startAt: Date.now() - 1000 })))
    expect(late.statusCode).toBe(409)
    expect(late.json<ProblemDetails>().detail).toMatch(/too late to join on time/)
    const malformed = await app.inject(
      signed('POST', '/assignments', { ...assignment(), steps: [{ rps: 'fast', durationS: 1, step: 0 }] }),
    )
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json<ProblemDetails>().problems![0]!.path).toBe('/body/steps/0/rps')
  })

  it('accepts, lists, replans, reconnects and stops an assignment; a second copy of a run is a conflict', async () => {
    expect((await app.inject(signed('POST', '/assignments', assignment()))).statusCode).toBe(202)
    expect((await app.inject(signed('POST', '/assignments', assignment()))).statusCode).toBe(409)
    expect((await app.inject(signed('GET', '/assignments'))).json()).toMatchObject([{ runId: 'run-1' }])
    const replan = await app.inject(
      signed('PUT', '/assignments/run-1/plan', { fromS: 0, steps: [{ rps: 2, durationS: 1, step: 0 }] }),
    )
    expect(replan.json()).toEqual({ accepted: true })
    expect((await app.inject(signed('PUT', '/assignments/nope/plan', { fromS: 0, steps: [] }))).statusCode).toBe(404)
    // A proxy delay began: the run's connections move to new sockets; an unsigned order is refused.
    expect((await app.inject({ method: 'POST', url: '/assignments/run-1/reconnect' })).statusCode).toBe(401)
    expect((await app.inject(signed('POST', '/assignments/run-1/reconnect'))).json()).toEqual({
      runId: 'run-1',
      moved: true,
    })
    expect((await app.inject(signed('POST', '/assignments/nope/reconnect'))).statusCode).toBe(404)
    expect((await app.inject(signed('DELETE', '/assignments/run-1'))).statusCode).toBe(202)
    await assignments.drain()
    expect(assignments.runIds).toEqual([])
    expect((await app.inject(signed('DELETE', '/assignments/run-1'))).statusCode).toBe(404)
  })

  it('a run whose load fails ends with its cause handed on (for the agent to log); the agent takes the next run', async () => {
    const ended: Array<{ runId: string; aborted: boolean; error?: string }> = []
    let windowsTaken = 0
    const failing = new Assignments(
      parseTargetAllowList(undefined),
      {
        window: () => {
          windowsTaken++
          throw new Error('the report queue is full')
        },
        done: (runId, result, error) =>
          ended.push({ runId, aborted: result.aborted, ...(error ? { error: error.message } : {}) }),
      },
      () => 0,
      2,
    )
    const steps = [{ rps: 4, durationS: 30, step: 0 }]
    await failing.start(assignment({ runId: 'bad', steps, startAt: Date.now() + 200 }))
    await failing.drain()
    expect(ended).toEqual([{ runId: 'bad', aborted: true, error: 'the report queue is full' }])
    expect(windowsTaken).toBe(1)
    expect(failing.runIds).toEqual([])
    await failing.start(assignment({ runId: 'next', steps, startAt: Date.now() + 200 }))
    expect(failing.runIds).toEqual(['next'])
    failing.stopAll()
    await failing.drain()
  })
})

describe('agent and controller processes refuse unsafe set-ups', () => {
  it('an agent will not start without GAUNTLET_AGENT_SECRET, even on loopback', async () => {
    await expect(
      startAgent({
        controllerUrl: 'http://127.0.0.1:9/',
        host: '127.0.0.1',
        port: 0,
        secret: '',
        allow: parseTargetAllowList(undefined),
        log: () => {},
      }),
    ).rejects.toThrow(/refusing to start without GAUNTLET_AGENT_SECRET/)
  })

  it('a controller for remote agents needs the agent secret (exit 2); bad flags are usage errors', async () => {
    const open = await runCli(['controller', '--agents', 'remote', '--port', '0'], {
      env: { GAUNTLET_TOKEN: 't', GAUNTLET_AGENT_SECRET: '' },
    })
    expect(open.code).toBe(2)
    expect(open.stderr).toMatch(/--agents remote needs GAUNTLET_AGENT_SECRET/)
    const mode = await runCli(['controller', '--agents', 'swarm'])
    expect(mode.code).toBe(2)
    expect(mode.stderr).toMatch(/--agents: "swarm" is not one of auto, remote, local/)
    const noController = await runCli(['agent'])
    expect(noController.code).toBe(2)
    expect(noController.stderr).toMatch(/--controller <url> is required/)
    const capacity = await runCli(['agent', '--controller', 'http://127.0.0.1:9', '--capacity', 'lots'])
    expect(capacity.code).toBe(2)
    expect(capacity.stderr).toMatch(/--capacity: "lots"/)
    const workers = await runCli(['agent', '--controller', 'http://127.0.0.1:9', '--workers', '1.5'])
    expect(workers.code).toBe(2)
    expect(workers.stderr).toMatch(/--workers: "1.5" is not a number of load threads \(1 to 64\)/)
  })

  it('an agent with the wrong secret is refused and says so; it never registers', async () => {
    const controller = await startGauntlet(['controller', '--port', '0', '--db', join(tempDir(), 'c.db')], {
      GAUNTLET_AGENT_SECRET: 'right',
    })
    const agent = await startGauntlet(['agent', '--controller', controller.url, '--name', 'intruder'], {
      GAUNTLET_AGENT_SECRET: 'wrong',
    })
    try {
      await agent.waitForLine(/the controller refused this agent: GAUNTLET_AGENT_SECRET differs/)
      expect(await (await fetch(`${controller.url}/api/agents`)).json()).toEqual([])
    } finally {
      await agent.stop()
      await controller.stop()
    }
  })

  it('with --agents remote and no agent connected, a run ends in error saying so', async () => {
    const target = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1')
    await once(target, 'listening')
    const controller = await startGauntlet(
      ['controller', '--port', '0', '--agents', 'remote', '--db', join(tempDir(), 'c.db')],
      { GAUNTLET_AGENT_SECRET: agentSecret },
    )
    try {
      const { port } = target.address() as AddressInfo
      const yaml =
        `name: nobody\ntarget: { url: "http://127.0.0.1:${port}/" }\n` + `load:\n  steps: [{ rps: 1, duration: 1s }]\n`
      const client = new ControllerClient(controller.url, undefined)
      const id = await client.startRun(yaml, undefined)
      let summary: RunSummary | null = null
      for await (const event of client.follow(id))
        if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary
      expect(summary).toMatchObject({
        status: 'error',
        verdict: 'error',
        reasons: [expect.stringMatching(/no agent is connected/)],
      })
    } finally {
      await controller.stop()
      target.close()
    }
  })
})
