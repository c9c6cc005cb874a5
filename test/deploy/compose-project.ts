import { execFile } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { promisify } from 'node:util'
import { dockerClient } from '../helpers/docker.js'

/**
 * The repository's docker-compose.yml as one throwaway compose project: a unique project name, its
 * own subnet and a free host port, so it never meets another run's containers, networks or volumes.
 * Works with the `docker compose` plugin and with Debian's docker-compose 1.29.
 */

const root = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)

/** `docker compose` when the plugin answers, else `docker-compose`; undefined when neither does. */
export async function composeCommand(): Promise<string[] | undefined> {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await run(command[0]!, [...command.slice(1), 'version'], { timeout: 20_000 })
      return command
    } catch {
      // try the next one
    }
  }
  return undefined
}

export interface ContainerState {
  id: string
  name: string
  service: string
  running: boolean
  /** healthy | unhealthy | starting; "none" without a healthcheck. */
  health: string
  pid: number
  /** The container's address on the project's network. */
  ip: string
}

export class ComposeProject {
  readonly name = `gauntlet-deploy-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  readonly token = randomBytes(32).toString('hex')
  private readonly env: NodeJS.ProcessEnv

  constructor(
    private readonly command: string[],
    /** Extra compose files after docker-compose.yml (GAUNTLET_COMPOSE_OVERRIDE, for trying variants). */
    private readonly overrides: string[] = [],
  ) {
    this.env = {
      ...process.env,
      GAUNTLET_TOKEN: this.token,
      GAUNTLET_AGENT_SECRET: randomBytes(32).toString('hex'),
      // Any free host port, and a subnet of its own (a collision fails `up` with "Pool overlaps").
      GAUNTLET_PORT: '0',
      GAUNTLET_SUBNET: `172.30.${randomInt(100, 250)}.0/24`,
    }
  }

  /** Runs one compose command for this project; rejects with its stderr on failure. */
  async compose(args: string[], timeoutMs = 120_000): Promise<string> {
    const files = ['docker-compose.yml', ...this.overrides].flatMap((f) => ['-f', f])
    const [bin, ...pre] = this.command
    try {
      const { stdout } = await run(bin!, [...pre, '-p', this.name, ...files, ...args], {
        cwd: root,
        env: this.env,
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      })
      return stdout
    } catch (error) {
      const e = error as Error & { stderr?: string }
      throw new Error(`${this.command.join(' ')} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`)
    }
  }

  /** Every container of the project (running or not), as the engine sees it. */
  async containers(): Promise<ContainerState[]> {
    const docker = dockerClient()
    const listed = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${this.name}`] },
    })
    return Promise.all(
      listed.map(async (c) => {
        const info = await docker.getContainer(c.Id).inspect()
        const networks = Object.values(info.NetworkSettings.Networks ?? {})
        return {
          id: c.Id,
          name: info.Name.replace(/^\//, ''),
          service: c.Labels['com.docker.compose.service'] ?? '',
          running: info.State.Running,
          health: info.State.Health?.Status ?? 'none',
          pid: info.State.Pid,
          ip: networks.find((n) => n.IPAddress)?.IPAddress ?? '',
        }
      }),
    )
  }

  async service(name: string): Promise<ContainerState[]> {
    return (await this.containers()).filter((c) => c.service === name)
  }

  /** The controller's URL on the host (its published loopback port). */
  async controllerUrl(): Promise<string> {
    const out = (await this.compose(['port', 'controller', '8080'])).trim()
    const port = /:(\d+)$/.exec(out)?.[1]
    if (!port) throw new Error(`no published port for controller:8080 (compose said ${JSON.stringify(out)})`)
    return `http://127.0.0.1:${port}`
  }

  /** Holder containers (label gauntlet.fault) in any target's namespace of this project. */
  async holders(): Promise<Array<{ id: string; fault: string; target: string }>> {
    const ours = (await this.containers()).map((c) => c.id)
    // The label holds the target's id, full or short: either way it is a prefix of the full id.
    const inProject = (target = '') => target.length >= 12 && ours.some((id) => id.startsWith(target))
    const listed = await dockerClient().listContainers({ all: true, filters: { label: ['gauntlet.fault'] } })
    return listed
      .filter((c) => inProject(c.Labels['gauntlet.target']))
      .map((c) => ({ id: c.Id, fault: c.Labels['gauntlet.fault'] ?? '', target: c.Labels['gauntlet.target'] ?? '' }))
  }

  /**
   * Everything of the project goes, whatever state it is in: holders first (they are not compose
   * services and share a target's namespace), then containers, networks and named volumes.
   */
  async down(): Promise<void> {
    for (const holder of await this.holders().catch(() => [])) {
      await dockerClient()
        .getContainer(holder.id)
        .remove({ force: true })
        .catch(() => undefined)
    }
    await this.compose(['down', '-v', '--remove-orphans', '--timeout', '10'], 180_000)
  }
}
