import { localFaultEngine, type FaultEngine, type InjectorChoice } from '@gauntlet/faults'
import { hostname } from 'node:os'

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
  /** Who holds the faults (faultOwner()): the holders' gauntlet.owner label. */
  owner: string
  /** Whether the controller still runs a run (false: its faults' holders are stopped by the reconcile). */
  isRunLive: (runId: string) => boolean
  log: (line: string) => void
}

/** The one place the agent makes its fault engine. */
export function agentFaultEngine(options: AgentEngineOptions): FaultEngine {
  const { journalFile, ...rest } = options
  return localFaultEngine({ ...rest, ...(journalFile ? { journalFile } : {}) })
}

/**
 * The owner of an agent's faults (the holders' gauntlet.owner, the journal's owner): its --name, else
 * the host name, never the process id, so an agent restarted in the same container or on the same host
 * recognises the holders it left and reconciles them. The agent's registration name keeps its pid.
 */
export function faultOwner(name: string | undefined): string {
  return name ?? hostname()
}
