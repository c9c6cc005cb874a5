import type { FaultSpec } from '@gauntlet/contracts'

/** What a run needs from whatever injects faults (the fault engine on the local Docker engine). */
export interface FaultInjector {
  /** Before any load: the kernel can carry it, and its targets exist. Returns the spec with `auto` decided. */
  prepare(spec: FaultSpec): Promise<FaultSpec>
  apply(spec: FaultSpec, untilEpochMs: number): Promise<AppliedFault>
  /** `beforeDrain`: proxy delay only, once new connections bypass the proxy and before it ends open ones. */
  revert(id: string, reason: string, options?: { beforeDrain?: () => void | Promise<void> }): Promise<AppliedFault>
}

export interface AppliedFault {
  targets: string[]
  appliedAt: string
  revertedAt: string | null
  revertVerified: boolean
  notes: string[]
}
