// The compose deployment, built and run for real: `npm run image`, docker-compose.yml with two load
// agents and the fault-capable agent, a run over REST, the bundled weekly chaos scenario shortened, and
// the two kills the fault design must survive (the fault agent's container, a holder).
//
// Which parts wait for other work (issue 12), kept enabled so the merged result is tested as a whole:
// - [H3] `gauntlet agent --docker <socket>`: until it exists the fault-agent container exits on an
//   unknown flag, is never healthy, and beforeAll fails. Everything else up to "a run over REST" needs
//   nothing more. To try those parts before H3, set GAUNTLET_COMPOSE_OVERRIDE to a compose file that
//   gives fault-agent a command without `--docker`.
// - [H3] the controller sends a run's faults and ad hoc faults (POST /api/faults) to an agent whose
//   engine holds the target (the controller has no Docker socket here).
// - [H1] holder containers (`gauntlet fault hold`, labels gauntlet.fault/gauntlet.target), the summary's
//   `injector`, and the reconcile loop that clears the marks of a killed holder.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import type { FaultRecord, RunSummary } from '@gauntlet/contracts'
import { dockerClient, dockerGate } from '../helpers/docker.js'
import { marksIn, noMarks, waitUntil } from '../helpers/fault-load.js'
import { ensureGauntletImage } from '../helpers/gauntlet-image.js'
import { ComposeProject, composeCommand, type ContainerState } from './compose-project.js'

const gate = await dockerGate()
const command = gate.available ? await composeCommand() : undefined
const overrides = process.env.GAUNTLET_COMPOSE_OVERRIDE ? [process.env.GAUNTLET_COMPOSE_OVERRIDE] : []

interface RunDetail {
  id: string
  status: string
  agents: string[]
  summary: (RunSummary & { faults?: Array<FaultRecord & { injector?: string }> }) | null
}
interface FaultReport {
  id: string
  mechanism: string
  targets: string[]
  appliedAt: string
  untilAt: string
}

gate.describe('the compose deployment (docker-compose.yml), built and run', () => {
  let project: ComposeProject
  let base: string

  const api = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${project.token}`, 'content-type': 'application/json', ...init.headers },
    })
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await api(path, init)
    if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }
  const one = async (service: string): Promise<ContainerState> => {
    const [container, ...more] = (await project.service(service)).filter((c) => c.running)
    if (!container || more.length > 0) throw new Error(`expected one running ${service} container`)
    return container
  }
  const allHealthy = async (): Promise<boolean> => {
    const containers = await project.containers()
    return containers.length === 5 && containers.every((c) => c.running && c.health === 'healthy')
  }
  interface AgentView {
    name: string
    url: string
    state: string
    lastHeartbeatAt: string
    /** [H3] present when the agent was started with --docker: what its engine runs. */
    faults?: { services: string[] }
  }
  const readyAgents = async (): Promise<AgentView[]> =>
    (await json<AgentView[]>('/api/agents')).filter((a) => a.state !== 'lost')
  /** [H3] The fault agent has heartbeated since `since` and says its engine runs the demo target. */
  const faultAgentReady = async (since = 0): Promise<boolean> =>
    (await readyAgents()).some(
      (a) => Date.parse(a.lastHeartbeatAt) > since && (a.faults?.services ?? []).includes('demo-target'),
    )

  /** Starts a run of an inline scenario and returns it once it has ended. */
  const runToEnd = async (doc: Record<string, unknown>, timeoutMs: number): Promise<RunDetail> => {
    const { id } = await json<{ id: string }>('/api/runs', {
      method: 'POST',
      body: JSON.stringify({ yaml: stringify(doc) }),
    })
    let detail: RunDetail | undefined
    await waitUntil(
      async () => (detail = await json<RunDetail>(`/api/runs/${id}`)).status !== 'running',
      `run ${id} to end`,
      timeoutMs,
      500,
    )
    return detail!
  }

  beforeAll(async () => {
    if (!command)
      throw new Error('neither `docker compose` nor `docker-compose` answers (apt-get install docker-compose)')
    await ensureGauntletImage()
    project = new ComposeProject(command, overrides)
    const started = Date.now()
    await project.compose(['up', '-d', '--scale', 'agent=2'], 300_000)
    await waitUntil(allHealthy, 'every service of the project to be healthy', 180_000, 500).catch(
      async (error: Error) => {
        const states = (await project.containers()).map((c) => `${c.name}: ${c.running ? c.health : 'exited'}`)
        const logs = await project.compose(['logs', '--tail', '20']).catch(() => '')
        throw new Error(`${error.message}\n${states.join('\n')}\n${logs}`)
      },
    )
    base = await project.controllerUrl()
    await waitUntil(async () => (await readyAgents()).length === 3, '3 agents registered', 30_000, 250)
    await waitUntil(faultAgentReady, 'the fault agent to report the demo target [H3]', 30_000, 250)
    console.log(
      `[deploy] compose up (${command.join(' ')}, 2 agents + fault agent) healthy and registered in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    )
  }, 30 * 60_000)

  afterAll(async () => {
    await project?.down()
  }, 240_000)

  it('runs every service healthy: controller without the Docker socket, 2 agents, the fault agent with it, the demo target', async () => {
    const containers = await project.containers()
    expect(containers.map((c) => c.service).sort()).toEqual([
      'agent',
      'agent',
      'controller',
      'demo-target',
      'fault-agent',
    ])
    const docker = dockerClient()
    for (const c of containers) {
      const info = await docker.getContainer(c.id).inspect()
      const socket = info.Mounts.some((m) => m.Source === '/var/run/docker.sock')
      expect(socket, `${c.service} mounts the Docker socket`).toBe(c.service === 'fault-agent')
      expect(info.Config.User, `${c.service} user`).toBe(c.service === 'fault-agent' ? '0' : 'node')
      // No anonymous volumes: every volume mount is one of the project's named volumes.
      for (const m of info.Mounts.filter((mount) => mount.Type === 'volume')) {
        expect(m.Name, `${c.service} mounts ${m.Destination}`).toMatch(
          new RegExp(`^${project.name}_gauntlet-(data|faults)$`),
        )
      }
    }
    const agents = await readyAgents()
    // [H3] Only the agent with the socket says it can hold faults, and on which services.
    const faultAgent = agents.filter((a) => a.faults !== undefined)
    expect(faultAgent.map((a) => new URL(a.url).hostname)).toEqual([(await one('fault-agent')).ip])
    expect(faultAgent[0]!.faults!.services).toContain('demo-target')
    const addresses = (await project.containers()).filter((c) => c.service.endsWith('agent')).map((c) => c.ip)
    expect(agents.map((a) => new URL(a.url).hostname).sort()).toEqual(addresses.sort())
  })

  it('has loaded the bundled scenarios, weekly-chaos targeting the demo target by service name', async () => {
    type Doc = { target: { url: string }; faults: Array<{ target: { service: string } }> } | null
    let doc: Doc = null
    // The controller redacts on a worker thread with a 5 s budget and shows a comment instead when a
    // busy machine makes it late; asking again is served from its memo once one read made it.
    await waitUntil(
      async () => (doc = parse((await json<{ yaml: string }>('/api/scenarios/weekly-chaos')).yaml) as Doc) !== null,
      'the stored weekly-chaos scenario',
      30_000,
      500,
    )
    expect(new URL(doc!.target.url).hostname).toBe('demo-target')
    expect(doc!.faults.map((f) => f.target.service)).toEqual(['demo-target', 'demo-target'])
  })

  it('carries a run over REST on the agents: the target counts what was planned, latency as configured', async () => {
    const target = await one('demo-target')
    const stats = async () => (await (await fetch(`http://${target.ip}:3000/__stats`)).json()) as { requests: number }
    const before = (await stats()).requests
    const run = await runToEnd(
      {
        name: 'deploy-smoke',
        target: { url: 'http://demo-target:3000/api/orders', timeout: '2s' },
        // 10 rps per agent: two sends 20 ms late in one second make it generator-limited, and one such
        // second of six stops the step from passing; at 20 rps per agent a loaded CI host's stall did it.
        load: { steps: [{ rps: 30, duration: '8s' }], warmup: '2s' },
        // 180 judged samples can show a rate below 5% (the 95% bound of 0/180 is about 2%).
        thresholds: ['error_rate < 5%'],
      },
      60_000,
    )
    const arrived = (await stats()).requests - before
    expect(run.summary?.steps, JSON.stringify(run).slice(0, 2000)).toHaveLength(1)
    const [step] = run.summary!.steps
    console.log(
      `[deploy] no-fault run: ${run.status}, agents ${run.agents.length}, sent ${step!.sent}, arrived ${arrived}, p50 ${step!.p50Ms} ms, p99 ${step!.p99Ms} ms`,
    )
    expect(run.status, [...run.summary!.reasons, ...run.summary!.warnings].join('; ')).toBe('passed')
    expect(run.agents.length).toBe(3)
    // 30 rps for 8 s = 240 requests, all counted by the demo target itself; the step's statistics
    // cover the 6 s after its warmup (180 planned).
    expect(step!.planned).toBe(180)
    expect(Math.abs(arrived - 240)).toBeLessThanOrEqual(5)
    expect(step!.errors).toBe(0)
    // The demo target answers in 15 ms ± 5 ms; the network hop adds well under a millisecond.
    expect(step!.p50Ms).toBeGreaterThan(9)
    expect(step!.p50Ms).toBeLessThan(30)
  }, 90_000)

  describe('faults held by the fault agent [waits for H1 holders + reconcile, H3 agent --docker + routing]', () => {
    it('runs weekly-chaos, shortened: p50 shifts by 100 ms ±10% under the delay, then no holder is left', async () => {
      const shipped = parse(readFileSync(new URL('../../scenarios/weekly-chaos.yaml', import.meta.url), 'utf8')) as {
        load: { steps: Array<{ rps: number }> }
        faults: Array<Record<string, unknown>>
      }
      const delay = shipped.faults.find((f) => f.type === 'delay')!
      const doc = {
        ...shipped,
        name: 'weekly-chaos-short',
        // steady 10 s, 100 ms delay for 10 s, recovery 10 s; the rate as shipped.
        load: { steps: shipped.load.steps.map((s) => ({ rps: s.rps, duration: '10s' })), warmup: '2s' },
        faults: [{ ...delay, atStep: 2, duration: '10s' }],
      }
      const run = await runToEnd(doc, 120_000)
      const why = `${run.status}: ${[...(run.summary?.reasons ?? []), ...(run.summary?.warnings ?? [])].join('; ')}`
      expect(run.summary?.steps.length, why).toBe(3)
      const [steady, faulted, recovery] = run.summary!.steps
      const shift = faulted!.p50Ms! - steady!.p50Ms!
      console.log(
        `[deploy] weekly-chaos short: ${why}; p50 ${steady!.p50Ms} -> ${faulted!.p50Ms} -> ${recovery!.p50Ms} ms (shift ${shift.toFixed(1)} ms)`,
      )
      expect(run.summary!.faults).toMatchObject([{ mechanism: 'proxy', revertVerified: true, injector: 'holder' }]) // [H1][H3]
      expect(shift).toBeGreaterThanOrEqual(90)
      expect(shift).toBeLessThanOrEqual(110)
      expect(Math.abs(recovery!.p50Ms! - steady!.p50Ms!)).toBeLessThan(10)
      await waitUntil(async () => (await project.holders()).length === 0, 'no holder left', 5_000, 100)
      expect(await marksIn((await one('demo-target')).pid)).toEqual(noMarks)
    }, 150_000)

    /** An ad hoc 100 ms proxy delay on the demo target, held by the fault agent. */
    const applyDelay = async (duration: string): Promise<FaultReport> => {
      const fault = await json<FaultReport>('/api/faults', {
        method: 'POST',
        body: JSON.stringify({
          type: 'delay',
          target: { service: 'demo-target' },
          mode: 'auto',
          latency: '100ms',
          port: 3000,
          duration,
        }),
      })
      expect(fault.mechanism).toBe('proxy')
      expect((await marksIn((await one('demo-target')).pid)).rules.length).toBeGreaterThan(0)
      return fault
    }
    const markFree = async () => (await marksIn((await one('demo-target')).pid)).rules.length === 0

    it('docker kill of the fault agent mid-fault: the fault is gone by its planned end + 2 s', async () => {
      const fault = await applyDelay('8s')
      await dockerClient()
        .getContainer((await one('fault-agent')).id)
        .kill()
      const until = Date.parse(fault.untilAt)
      // The fault is its marks in the target's namespace; the holder container goes after it reverted.
      const gone = await waitUntil(
        markFree,
        'the fault gone after its agent was killed',
        until - Date.now() + 10_000,
        100,
      )
      const holderGone = await waitUntil(
        async () => (await project.holders()).length === 0,
        'its holder gone',
        15_000,
        100,
      )
      console.log(
        `[deploy] fault agent killed: marks gone ${gone - until} ms, holder gone ${holderGone - until} ms after the planned end`,
      )
      expect(gone).toBeLessThanOrEqual(until + 2_000)
      // `docker kill` counts as a manual stop, so the restart policy leaves it down (checked on Docker
      // 20.10; a crash or the kernel's OOM kill would restart it): start it as an operator would.
      const restarted = Date.now()
      await project.compose(['start', 'fault-agent'])
      await waitUntil(allHealthy, 'the fault agent healthy again', 60_000, 500)
      await waitUntil(() => faultAgentReady(restarted), 'the fault agent registered again [H3]', 30_000, 250)
    }, 120_000)

    it("docker kill of a holder mid-fault: the agent's reconcile clears its marks within 10 s", async () => {
      const fault = await applyDelay('60s')
      const [holder] = (await project.holders()).filter((h) => h.fault === fault.id)
      expect(holder, `a holder for ${fault.id}`).toBeDefined()
      await dockerClient().getContainer(holder!.id).kill()
      const killed = Date.now()
      // SIGKILL gave the holder no chance to revert: its marks are still in the target's namespace.
      expect(await markFree()).toBe(false)
      const clean = await waitUntil(markFree, "the killed holder's marks to be cleared", 15_000, 100)
      console.log(`[deploy] holder killed: marks cleared after ${clean - killed} ms`)
      expect(clean - killed).toBeLessThanOrEqual(10_000)
      await api(`/api/faults/${fault.id}`, { method: 'DELETE' })
    }, 90_000)
  })
})
