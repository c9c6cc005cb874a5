import { GauntletError, type FaultTarget } from '@gauntlet/contracts'
import type Docker from 'dockerode'
import { newDocker } from './docker-client.js'
import { DockerTargets, engineAddress } from './docker-targets.js'

/** What a fault-capable agent tells its controller about its Docker engine (bounded by the caller). */
export interface EngineInventory {
  /** Running containers. */
  containers: number
  /** Compose services of the running containers, sorted, distinct. */
  services: string[]
  /**
   * The keys of their other labels, sorted, distinct: Docker's own and Gauntlet's are left out. Never
   * the values, which can hold credentials (a traefik basicauth label) and reach the controller's API.
   */
  labels: string[]
}

const composeServiceLabel = 'com.docker.compose.service'
/** Labels every container of a kind carries, which would only crowd out the ones that tell containers apart. */
const ignoredLabelPrefixes = ['com.docker.', 'org.opencontainers.', 'gauntlet.', 'gauntlet-test']

/**
 * One Docker engine as an agent sees it, for routing faults to it: what runs there, and which of it a
 * fault target names. `socketPath` undefined: dockerode's defaults (DOCKER_HOST, else its socket).
 */
export class DockerEngineView {
  private readonly docker: Docker
  private readonly targets: DockerTargets

  constructor(
    socketPath?: string,
    private readonly timeoutMs = 5_000,
  ) {
    this.docker = socketPath ? newDocker({ socketPath }) : newDocker()
    this.targets = new DockerTargets(this.docker, { timeoutMs })
  }

  get address(): string {
    return engineAddress(this.docker)
  }

  /** The running containers a target names here (404 when none, 409 when one is not running). */
  async targetNames(target: FaultTarget): Promise<string[]> {
    return (await this.targets.resolve(target)).map((c) => c.name)
  }

  async inventory(): Promise<EngineInventory> {
    let listed: Docker.ContainerInfo[]
    try {
      listed = await this.docker.listContainers({
        filters: { status: ['running'] },
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (error) {
      throw new GauntletError(
        'target_unreachable',
        `Docker engine not reachable at ${this.address}: ${(error as Error).message}`,
        { cause: error },
      )
    }
    return inventoryOf(listed)
  }
}

/** The inventory of these running containers: counts, compose services, label keys (no label values). */
export function inventoryOf(listed: ReadonlyArray<Pick<Docker.ContainerInfo, 'Labels'>>): EngineInventory {
  const services = new Set<string>()
  const labels = new Set<string>()
  for (const container of listed) {
    for (const [key, value] of Object.entries(container.Labels ?? {})) {
      if (key === composeServiceLabel) services.add(value)
      else if (!ignoredLabelPrefixes.some((prefix) => key.startsWith(prefix))) labels.add(key)
    }
  }
  return { containers: listed.length, services: [...services].sort(), labels: [...labels].sort() }
}
