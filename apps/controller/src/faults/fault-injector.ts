import type { FaultSpec } from '@gauntlet/contracts'

/**
 * What a run needs from whatever injects faults: the faults router (agents started with --docker, and
 * the controller's own engine when started with --docker), or the fault engine on the local Docker
 * engine (`gauntlet run`).
 */
export interface FaultInjector {
  /** Before any load: the kernel can carry it, and its targets exist. Returns the spec with `auto` decided. */
  prepare(spec: FaultSpec): Promise<FaultSpec>
  /**
   * `run`: the run it belongs to (who holds it keeps it only while the run is live). The options are
   * those of FaultEngine.apply, so that a local engine is an injector as it is; a run never detaches.
   */
  apply(spec: FaultSpec, untilEpochMs: number, options?: { run?: string; detached?: boolean }): Promise<AppliedFault>
  /** `beforeDrain`: proxy delay only, once new connections bypass the proxy and before it ends open ones. */
  revert(id: string, reason: string, options?: { beforeDrain?: () => void | Promise<void> }): Promise<AppliedFault>
  /**
   * Before a run is admitted: every fault can be placed (an agent's engine holds its target). Throws
   * GauntletError('conflict') naming the target and what each agent answered. Absent: checked by
   * prepare once the run has begun.
   */
  assertPlaceable?(specs: readonly FaultSpec[]): Promise<void>
}

export interface AppliedFault {
  targets: string[]
  appliedAt: string
  revertedAt: string | null
  revertVerified: boolean
  notes: string[]
  /** The agent that held it (absent: this process's own engine). */
  agent?: string
  /** What held it: a holder container or host processes. */
  injector?: 'holder' | 'host'
}
