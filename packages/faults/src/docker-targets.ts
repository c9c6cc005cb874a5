import { dockerSelectorProblem, GauntletError, isContainerRef, type FaultTarget } from '@gauntlet/contracts'
import type Docker from 'dockerode'
import { newDocker } from './docker-client.js'

/** A running container a fault can act on: its network namespace is reached through `pid`. */
export interface TargetContainer {
  id: string
  /** Without Docker's leading "/". */
  name: string
  /** Host PID of the container's init process (for nsenter). */
  pid: number
  /**
   * NetworkSettings.IPAddress (the default bridge) when set, else the first non-empty address of
   * NetworkSettings.Networks in the engine's order (alphabetical by network name); "" when the
   * container has no address (network mode none).
   */
  ip: string
  labels: Record<string, string>
}

type Mode = NonNullable<FaultTarget['mode']>

/** The compose label `service:` selects on. */
const composeServiceLabel = 'com.docker.compose.service'

/**
 * Which of `candidates` a target's mode picks: all of them, one at random, or ceil(n·percent/100)
 * (at least one) at random, without repeats. Pure: `random` is the only source of chance, and the
 * picks keep the candidates' order.
 */
export function chooseTargets<T>(
  candidates: readonly T[],
  mode: Mode,
  percent: number | undefined,
  random: () => number,
): T[] {
  const n = candidates.length
  let count: number
  if (mode === 'all') count = n
  else if (mode === 'one') count = Math.min(1, n)
  else {
    if (percent === undefined || !(percent > 0 && percent <= 100)) {
      throw new GauntletError('usage', `target mode "percent" needs "percent" in (0, 100], got ${percent ?? 'none'}`)
    }
    count = Math.min(n, Math.max(1, Math.ceil((n * percent) / 100)))
  }
  if (count === n) return [...candidates]
  // Partial Fisher–Yates over indices: the first `count` slots are a uniform sample.
  const indices = candidates.map((_, i) => i)
  for (let i = 0; i < count; i++) {
    const j = i + Math.min(n - i - 1, Math.floor(random() * (n - i)))
    ;[indices[i], indices[j]] = [indices[j]!, indices[i]!]
  }
  return indices
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((i) => candidates[i]!)
}

/** The one selector a target names, or a usage error naming the fields. */
export function targetSelector(target: FaultTarget): { kind: 'container' | 'label' | 'service'; value: string } {
  const given = (['container', 'label', 'service'] as const).filter((k) => target[k] !== undefined)
  if (given.length !== 1) {
    const what = given.length === 0 ? 'none was given' : `got ${given.join(' and ')}`
    throw new GauntletError('usage', `a fault target needs exactly one of "container", "label" or "service"; ${what}`)
  }
  const kind = given[0]!
  const value = target[kind]!
  // Checked again here (the schemas check it first) so that no caller can put a path into a Docker API call.
  const problem = dockerSelectorProblem(kind, value)
  if (problem) throw new GauntletError('usage', `target ${kind} ${JSON.stringify(value)}: ${problem}`)
  return { kind, value }
}

/** The Docker adapter that turns a fault target into the running containers it names. */
export class DockerTargets {
  /**
   * `docker` defaults to dockerode's own defaults, which honour DOCKER_HOST. An engine that neither
   * answers nor refuses within `timeoutMs` is treated as unreachable.
   */
  constructor(
    private readonly docker: Docker = newDocker(),
    private readonly options: { timeoutMs: number } = { timeoutMs: 10_000 },
  ) {}

  async resolve(target: FaultTarget, random: () => number = Math.random): Promise<TargetContainer[]> {
    const selector = targetSelector(target)
    const mode = target.mode ?? 'all'
    if (mode !== 'percent' && target.percent !== undefined) {
      throw new GauntletError('usage', `target "percent" applies only with mode: percent (mode is ${mode})`)
    }
    // Checked before asking the engine, so a bad target is reported as such even with no engine.
    if (mode === 'percent') chooseTargets([], mode, target.percent, random)

    let candidates: Docker.ContainerInspectInfo[]
    if (selector.kind === 'container') {
      const info = await this.inspectInfo(selector.value)
      if (info === undefined) throw new GauntletError('not_found', `no container "${selector.value}"`)
      if (!info.State.Running) {
        throw new GauntletError(
          'conflict',
          `container "${selector.value}" is not running (${info.State.Status}); faults need a running container`,
        )
      }
      candidates = [info]
    } else {
      const label = selector.kind === 'label' ? selector.value : `${composeServiceLabel}=${selector.value}`
      const described =
        selector.kind === 'label' ? `label ${label}` : `compose service "${selector.value}" (label ${label})`
      const listed = await this.engine(`list containers with ${described}`, (abortSignal) =>
        this.docker.listContainers({ filters: { label: [label], status: ['running'] }, abortSignal }),
      )
      // A container that stops between the list and its inspect is simply not a candidate.
      const inspected = await Promise.all(listed.map((c) => this.inspectInfo(c.Id)))
      candidates = inspected.filter((info): info is Docker.ContainerInspectInfo => info?.State.Running === true)
      if (candidates.length === 0) throw new GauntletError('not_found', `no running container with ${described}`)
      // Sorted so that a given `random` picks the same containers whatever order the engine lists them in.
      candidates.sort(byName)
    }
    for (const info of candidates) {
      if (info.HostConfig.NetworkMode === 'host') {
        // tc/iptables in this container's namespace would act on the host's own network.
        throw new GauntletError(
          'target_not_allowed',
          `container "${containerName(info)}" uses the host's network (network mode host): a fault there ` +
            `would hit the host itself`,
        )
      }
    }
    return chooseTargets(candidates, mode, target.percent, random).map(toTarget)
  }

  /**
   * Every running container a fault could have been applied to (for recovery after a crash): the
   * host-network ones are left out, since resolve() never targets them.
   */
  async running(): Promise<TargetContainer[]> {
    const listed = await this.engine('list running containers', (abortSignal) =>
      this.docker.listContainers({ filters: { status: ['running'] }, abortSignal }),
    )
    const inspected = await Promise.all(listed.map((c) => this.inspectInfo(c.Id)))
    return inspected
      .filter(
        (info): info is Docker.ContainerInspectInfo =>
          info?.State.Running === true && info.HostConfig.NetworkMode !== 'host',
      )
      .sort(byName)
      .map(toTarget)
  }

  /** The container by name or id, or undefined when it is gone or not running. */
  async inspect(id: string): Promise<TargetContainer | undefined> {
    const info = await this.inspectInfo(id)
    return info?.State.Running ? toTarget(info) : undefined
  }

  /** undefined when the engine has no such container. */
  private async inspectInfo(nameOrId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    const segment = containerPathSegment(nameOrId)
    return this.engine(`inspect container "${nameOrId}"`, (abortSignal) =>
      this.docker
        .getContainer(segment)
        .inspect({ abortSignal })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode === 404) return undefined
          throw error
        }),
    )
  }

  /** One engine call, bounded in time; failures become GauntletErrors that say where the engine was sought. */
  private async engine<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await call(AbortSignal.timeout(this.options.timeoutMs))
    } catch (error) {
      const e = error as { statusCode?: number; message?: string; name?: string }
      const where = engineAddress(this.docker)
      if (typeof e.statusCode === 'number') {
        throw new GauntletError(
          'target_unreachable',
          `Docker engine at ${where} answered ${e.statusCode} to ${what}: ${e.message}`,
          { cause: error },
        )
      }
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${this.options.timeoutMs / 1000} s`
          : (e.message ?? String(error))
      throw new GauntletError('target_unreachable', `Docker engine not reachable at ${where}: ${reason}`, {
        cause: error,
      })
    }
  }
}

/** Where a dockerode client looks for the engine, for messages (dockerode reads DOCKER_HOST itself). */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string }
  if (typeof modem.socketPath === 'string') return modem.socketPath
  if (modem.host) return `${modem.protocol ?? 'http'}://${modem.host}${modem.port ? `:${modem.port}` : ''}`
  // dockerode's default socket is a lookup: ~/.docker/run/docker.sock when that exists, else this.
  return '/var/run/docker.sock'
}

/**
 * A container name or id as one segment of a Docker API path: in Docker's grammar (a leading "/", as
 * the API writes names, is dropped) and percent-encoded, since dockerode puts it in the path as is.
 */
export function containerPathSegment(nameOrId: string): string {
  const name = nameOrId.replace(/^\//, '')
  if (!isContainerRef(name))
    throw new GauntletError('usage', `container ${JSON.stringify(nameOrId)} is not a Docker container name or id`)
  return encodeURIComponent(name)
}

function byName(a: Docker.ContainerInspectInfo, b: Docker.ContainerInspectInfo): number {
  return a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0
}

function containerName(info: Docker.ContainerInspectInfo): string {
  return info.Name.replace(/^\//, '')
}

function toTarget(info: Docker.ContainerInspectInfo): TargetContainer {
  const networks = Object.values(info.NetworkSettings.Networks ?? {})
  // The top-level IPAddress (the default bridge) is deprecated in newer engine APIs, hence the fallback.
  const legacy = (info.NetworkSettings as { IPAddress?: string }).IPAddress
  return {
    id: info.Id,
    name: containerName(info),
    pid: info.State.Pid,
    ip: legacy || networks.find((n) => n.IPAddress)?.IPAddress || '',
    labels: { ...(info.Config.Labels ?? {}) },
  }
}
