import type Docker from 'dockerode'
import { newDocker } from './docker-client.js'
import { homedir, hostname } from 'node:os'
import { createHash } from 'node:crypto'
import { join, resolve } from 'node:path'
import { GauntletError } from '@gauntlet/contracts'
import { DockerTargets } from './docker-targets.js'
import type { FaultEngine } from './fault-engine.js'
import { HostInjector } from './host-injector.js'
import { HolderInjector } from './holder-injector.js'
import { FaultJournal } from './fault-journal.js'
import { nsenter } from './netns.js'

/**
 * The journal is per host, not per run directory: faults act on host-wide things (containers), and
 * recovery must know every live fault on the host to leave them alone. GAUNTLET_FAULT_JOURNAL overrides.
 */
function defaultFaultJournal(): string {
  if (process.env.GAUNTLET_FAULT_JOURNAL) return process.env.GAUNTLET_FAULT_JOURNAL
  return process.getuid?.() === 0 ? '/var/lib/gauntlet/faults.jsonl' : join(homedir(), '.gauntlet', 'faults.jsonl')
}

export const injectorChoices = ['auto', 'holder', 'host'] as const
export type InjectorChoice = (typeof injectorChoices)[number]

export const defaultHolderImage = 'gauntlet:local'

export interface LocalFaultEngineOptions {
  /**
   * holder: holder containers through the Docker API; host: this host's nsenter (root, host pid
   * namespace); auto (default): holders when the holder image exists on the engine, else host.
   * GAUNTLET_FAULT_INJECTOR when not given.
   */
  injector?: InjectorChoice
  /** The Docker engine's socket (default: dockerode's defaults, which honour DOCKER_HOST). */
  dockerSocket?: string
  /** The image holders run (default GAUNTLET_HOLDER_IMAGE, else gauntlet:local). */
  holderImage?: string
  /** Who this engine is, on the holders' gauntlet.owner label (default local:<hostname>:<hash of the journal path>). */
  owner?: string
  /** The journal of applied faults (default: per host, see defaultFaultJournal). */
  journalFile?: string
  log?: (line: string) => void
  /** Whether a run still goes on; holders of a run that is over are stopped by the reconcile. */
  isRunLive?: (run: string) => boolean
  /** Holders: start the reconcile loop (every 5 s, does not keep the process alive). Default true. */
  reconcile?: boolean
}

/**
 * The fault engine on this host's Docker engine: holder containers, or the host's nsenter. Returned at
 * once; which injector it is is decided on first use (auto asks the engine whether the image exists).
 */
export function localFaultEngine(options: LocalFaultEngineOptions = {}): LocalFaultEngine {
  return new LocalFaultEngine(options)
}

/** A FaultEngine whose injector is chosen once, lazily; `injector()` says which. */
export class LocalFaultEngine implements FaultEngine {
  private chosen: Promise<FaultEngine> | undefined

  constructor(private readonly options: LocalFaultEngineOptions) {}

  private engine(): Promise<FaultEngine> {
    // A choice that failed (the engine did not answer) is not kept: the next use asks again.
    this.chosen ??= chooseEngine(this.options).catch((error: unknown) => {
      this.chosen = undefined
      throw error
    })
    return this.chosen
  }

  /** Which injector holds this engine's faults. */
  async injector(): Promise<'holder' | 'host'> {
    return (await this.engine()) instanceof HolderInjector ? 'holder' : 'host'
  }

  /** Stops the holder reconcile loop and warm holders (holders of applied faults revert by their own timers). */
  async stop(): Promise<void> {
    // Never chosen (or the choice failed): no reconcile loop and no warm holder to stop.
    const engine = await this.chosen?.catch(() => undefined)
    if (engine instanceof HolderInjector) await engine.close()
  }

  recover: FaultEngine['recover'] = async () => (await this.engine()).recover()
  prepare: FaultEngine['prepare'] = async (spec, options) => (await this.engine()).prepare(spec, options)
  apply: FaultEngine['apply'] = async (spec, until, options) => (await this.engine()).apply(spec, until, options)
  revert: FaultEngine['revert'] = async (id, reason, options) => (await this.engine()).revert(id, reason, options)
  revertAll: FaultEngine['revertAll'] = async (reason) => (await this.engine()).revertAll(reason)
  list: FaultEngine['list'] = async () => (await this.engine()).list()
}

async function chooseEngine(options: LocalFaultEngineOptions): Promise<FaultEngine> {
  const { journalFile = defaultFaultJournal(), log } = options
  const docker = options.dockerSocket ? newDocker({ socketPath: options.dockerSocket }) : newDocker()
  const journal = new FaultJournal(journalFile)
  const containers = new DockerTargets(docker)
  const image = options.holderImage ?? (process.env.GAUNTLET_HOLDER_IMAGE || defaultHolderImage)
  const choice = injectorChoice(options.injector ?? process.env.GAUNTLET_FAULT_INJECTOR)
  if (choice === 'host' || (choice === 'auto' && !(await imageExists(docker, image))))
    return new HostInjector({ containers, netns: nsenter, journal, ...(log ? { log } : {}) })
  const engine = new HolderInjector({
    docker,
    containers,
    journal,
    image,
    // One owner per journal: the reconcile and `fault list` of one state dir leave another's holders alone.
    owner:
      options.owner ??
      `local:${hostname()}:${createHash('sha256').update(resolve(journalFile)).digest('hex').slice(0, 12)}`,
    ...(log ? { log } : {}),
    ...(options.isRunLive ? { isRunLive: options.isRunLive } : {}),
  })
  if (options.reconcile !== false) engine.startReconcile()
  return engine
}

function injectorChoice(value: string | undefined): InjectorChoice {
  if (value === undefined || value === '') return 'auto'
  if (value === 'auto' || value === 'holder' || value === 'host') return value
  throw new GauntletError('usage', `GAUNTLET_FAULT_INJECTOR must be auto, holder or host, got ${JSON.stringify(value)}`)
}

/**
 * The holder image is on the engine. Only the engine's 404 for the image means "no": an engine that
 * does not answer (or fails) is an error, not a silent fall back to the host injector.
 */
async function imageExists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect({ abortSignal: AbortSignal.timeout(5_000) } as object)
    return true
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false
    throw new GauntletError(
      'fault_failed',
      `cannot choose the fault injector: the Docker engine did not say whether the holder image ${image} exists: ${(error as Error).message}`,
    )
  }
}
