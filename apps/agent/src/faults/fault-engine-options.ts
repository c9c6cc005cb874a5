import { localFaultEngine, type FaultEngine } from '@gauntlet/faults'

export type InjectorChoice = 'auto' | 'holder' | 'host'
export const injectorChoices: readonly InjectorChoice[] = ['auto', 'holder', 'host']

/** Everything a fault-capable agent asks of its fault engine (`gauntlet agent --docker`). */
export interface AgentEngineOptions {
  /** The Docker engine's socket (--docker <socket>); absent: DOCKER_HOST, else /var/run/docker.sock. */
  dockerSocket?: string
  /** --injector: holder containers, host processes (root, nsenter), or auto (holders when the image exists). */
  injector: InjectorChoice
  /** --holder-image (default: the engine's own, gauntlet:local or GAUNTLET_HOLDER_IMAGE). */
  holderImage?: string
  /** The journal of applied faults (default: per host, GAUNTLET_FAULT_JOURNAL). */
  journalFile?: string
  /** Who holds the faults (the agent's name): the holders' gauntlet.owner label. */
  owner: string
  /** Whether the controller still runs a run (false: its faults' holders are stopped by the reconcile). */
  isRunLive: (runId: string) => boolean
  log: (line: string) => void
}

/**
 * The one place the agent makes its fault engine. localFaultEngine takes these options as one object:
 * those it does not know yet are ignored (a wider object is a valid argument), so none is lost in
 * between and the engine picks each one up as it learns it.
 */
export function agentFaultEngine(options: AgentEngineOptions): FaultEngine {
  const { journalFile, ...rest } = options
  const engineOptions = { ...rest, ...(journalFile ? { journalFile } : {}) }
  return localFaultEngine(engineOptions)
}
