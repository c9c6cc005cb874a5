import { GauntletError, type HeartbeatReply } from '@gauntlet/contracts'
import { DockerEngineView, type FaultEngine } from '@gauntlet/faults'
import { availableParallelism, hostname, networkInterfaces } from 'node:os'
import { AgentFaults, type EngineView } from '../faults/agent-faults.js'
import type { InjectorChoice } from '@gauntlet/faults'
import { agentFaultEngine, faultOwner } from '../faults/fault-engine-options.js'
import type { TargetAllowList } from '../safety/target-allow-list.js'
import { buildAgentApp } from './agent-app.js'
import { Assignments } from './assignments.js'
import { defaultWorkers } from '../load/thread-plans.js'
import { ClockOffset } from './clock-offset.js'
import { ControllerLink } from './controller-link.js'

export interface AgentOptions {
  controllerUrl: string
  name?: string
  host: string
  port: number
  /**
   * URL the controller calls back; defaults to http://<host>:<port>, or this host's external IPv4 address when
   * listening on every interface.
   */
  advertiseUrl?: string
  /** Requests per second offered; default 1000 per CPU core. */
  capacityRps?: number
  /** Load threads per run (--workers); default every core but one, at least one (defaultWorkers). */
  workers?: number
  /** GAUNTLET_AGENT_SECRET: signs what the agent sends and checks what its controller orders. */
  secret: string
  allow: TargetAllowList
  /** --docker: this agent injects faults with this Docker engine (it is root on that host). */
  docker?: DockerAccess
  log: (line: string) => void
}

export interface DockerAccess {
  /** Absent: dockerode's defaults (DOCKER_HOST, else /var/run/docker.sock). */
  socket?: string
  injector: InjectorChoice
  holderImage?: string
  journalFile?: string
  /** Replace the engine and its view (tests: a fake engine routes faults without Docker). */
  engine?: FaultEngine
  view?: EngineView
}

export interface RunningAgent {
  name: string
  url: string
  /** Stops taking work, stops the load, reports what it has, and closes. */
  close(): Promise<void>
}

const version = '0.1.0'

/**
 * A load agent: serves the controller's orders, heartbeats, reports windows, and stops its load when
 * the controller goes silent, so no agent keeps loading a target nobody is watching.
 */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  if (!options.secret) {
    throw new GauntletError(
      'usage',
      'refusing to start without GAUNTLET_AGENT_SECRET: the controller and its agents sign every request with it',
    )
  }
  const name = options.name ?? `${hostname()}-${process.pid}`
  const capacityRps = options.capacityRps ?? 1000 * availableParallelism()
  const clock = new ClockOffset()
  // eslint-disable-next-line prefer-const -- assigned once below, after the app whose assignments report through it
  let link: ControllerLink | undefined
  let registered = false
  const assignments = new Assignments(
    options.allow,
    {
      window: (runId, window) => link?.report(runId, window),
      done: (runId, result, error) => {
        // The controller hears why the load failed; what caused that (an internal error) is told here only.
        if (error) options.log(`run ${runId}: the load failed: ${errorText(error)}`)
        link?.reportDone(runId, result, error?.message)
      },
    },
    () => clock.offsetMs,
    options.workers ?? defaultWorkers(availableParallelism()),
  )
  const faults = options.docker
    ? await startFaults(options.docker, faultOwner(options.name), options.log, () => clock.offsetMs)
    : undefined
  const app = buildAgentApp({ name, secret: options.secret, assignments, ...(faults ? { faults } : {}) })
  const address = await app.listen({ port: options.port, host: options.host })
  const port = (app.server.address() as { port: number }).port
  const url = options.advertiseUrl ?? advertisedUrl(options.host, port, address)

  link = new ControllerLink({
    controllerUrl: options.controllerUrl,
    name,
    secret: options.secret,
    heartbeat: () => ({
      url,
      capacityRps,
      runs: assignments.runIds,
      version,
      ...(faults ? { faults: faults.inventory() } : {}),
      ...(clock.known ? { clock: { offsetMs: clock.offsetMs, uncertaintyMs: clock.uncertaintyMs } } : {}),
    }),
    onReply: (reply: HeartbeatReply, sentAt, receivedAt) => {
      if (!registered) options.log(`registered with ${options.controllerUrl} as ${name} (capacity ${capacityRps} rps)`)
      registered = true
      clock.add(sentAt, receivedAt, reply.controllerTime)
      faults?.onReply(reply.faultRuns, sentAt, receivedAt)
      // A run this agent carries that the controller does not expect (it restarted, or declared this
      // agent lost) must stop. Only runs accepted before the heartbeat left can be judged by its reply.
      const expected = new Set(reply.runs)
      for (const runId of assignments.acceptedBefore(sentAt)) {
        if (!expected.has(runId)) {
          options.log(`the controller no longer expects run ${runId}: stopping its load`)
          assignments.stop(runId)
        }
      }
    },
    onControllerLost: () => {
      faults?.onControllerLost()
      assignments.stopAll()
    },
    onRunRejected: (runId) => {
      if (assignments.stop(runId)) options.log(`the controller rejected reports for run ${runId}: stopping its load`)
    },
    log: options.log,
  })
  link.start(() => assignments.runIds.length > 0 || faults?.holdsRunFaults === true)

  return {
    name,
    url,
    close: async () => {
      // Faults first: a fault must not outlive its agent, and reverting is the safe direction.
      await faults?.close('the agent is stopping').catch((error: Error) => options.log(`faults: ${error.message}`))
      assignments.stopAll()
      await assignments.drain()
      await link?.settle(2_000)
      link?.stop()
      await app.close()
    },
  }
}

function advertisedUrl(host: string, port: number, address: string): string {
  if (host !== '0.0.0.0' && host !== '::') return address
  // Listening on every interface: this host's first external IPv4 address (a compose replica's or a
  // pod's), which the controller can check against GAUNTLET_AGENT_ALLOW as it is; else the host name.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((nic) => nic !== undefined && nic.family === 'IPv4' && !nic.internal)
  return `http://${external?.address ?? hostname()}:${port}`
}

/** The fault side of an agent started with --docker: its engine recovered, its inventory refreshing. */
async function startFaults(
  docker: DockerAccess,
  owner: string,
  log: (line: string) => void,
  controllerOffsetMs: () => number,
): Promise<AgentFaults> {
  // Bound late: the engine asks the agent which runs are live, which the agent learns from heartbeats.
  // eslint-disable-next-line prefer-const -- assigned once below, after the engine that asks it
  let faults: AgentFaults | undefined
  const engine =
    docker.engine ??
    agentFaultEngine({
      ...(docker.socket ? { dockerSocket: docker.socket } : {}),
      injector: docker.injector,
      ...(docker.holderImage ? { holderImage: docker.holderImage } : {}),
      ...(docker.journalFile ? { journalFile: docker.journalFile } : {}),
      owner,
      isRunLive: (runId) => faults?.isRunLive(runId) ?? true,
      log,
    })
  const view = docker.view ?? new DockerEngineView(docker.socket)
  faults = new AgentFaults(engine, view, docker.injector, log, Date.now, controllerOffsetMs)
  await faults.start()
  const where = docker.socket ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock'
  log(`fault-capable: Docker engine at ${where}, injector ${docker.injector}`)
  return faults
}

/** An error and what caused it, for the agent's own log. */
function errorText(error: Error): string {
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message
}
