import type { FaultSpec } from '@gauntlet/contracts'

export interface FaultReport {
  id: string
  type: FaultSpec['type']
  mechanism: FaultSpec['mechanism']
  targets: string[]
  appliedAt: string
  untilAt: string
  revertedAt: string | null
  /** True once a read-back of every namespace showed nothing of this fault. */
  revertVerified: boolean
  notes: string[]
  /** What held it: a holder container (through the Docker API) or this host's nsenter. */
  injector: 'holder' | 'host'
}

export interface ApplyOptions {
  /** Applied by a one-shot command that exits at once: the fault is left to its own end. */
  detached?: boolean
  /**
   * The run it belongs to (holders carry it, so a reconcile can stop the faults of a run that is over).
   * The run reverts it at its end itself, so the injector's own timer is then a backstop (see ownerFirstMs).
   */
  run?: string
}

/**
 * Proxy delay: the backstops of a fault's end (an injector's own timer when a run owns the fault, a
 * holder's timer, a host proxy's own deadline) fire this long after the planned end, so an owner that
 * is alive reverts first with its drain handshake: it moves its connections off the proxy before the
 * proxy ends them. A backstop firing first would end connections under requests in flight.
 */
export const ownerFirstMs = 300

/** When a backstop of this fault's end fires (see ownerFirstMs). */
export function backstopAt(spec: Pick<FaultSpec, 'mechanism'>, untilEpochMs: number): number {
  return untilEpochMs + (spec.mechanism === 'proxy' ? ownerFirstMs : 0)
}

export interface PrepareOptions {
  /** Default true: an engine may start what the apply will use (warm holders). False: resolve and preflight only. */
  warm?: boolean
}

export interface RevertOptions {
  /** Proxy delay: called once new connections bypass the proxy and before it ends the open ones. */
  beforeDrain?: () => void | Promise<void>
}

/**
 * What injects faults, whoever holds them (host processes or holder containers): runs, the agent's
 * fault routes, the controller and `gauntlet fault` use only this.
 */
export interface FaultEngine {
  /** Before anything else: undo whatever a dead process left. Returns the containers it cleaned. */
  recover(): Promise<string[]>
  /**
   * The kernel can carry it and its targets exist; returns the spec with `auto` decided. `warm: false`:
   * a check only (a placement check before a run is admitted), nothing is started for the fault.
   */
  prepare(spec: FaultSpec, options?: PrepareOptions): Promise<FaultSpec>
  /** Applies a fault until `untilEpochMs` (default: now + its duration). */
  apply(spec: FaultSpec, untilEpochMs?: number, options?: ApplyOptions): Promise<FaultReport>
  /** Reverts and reads back; a second call gets the same report. */
  revert(id: string, reason: string, options?: RevertOptions): Promise<FaultReport>
  revertAll(reason: string): Promise<FaultReport[]>
  /** Faults in effect now. */
  list(): Promise<FaultReport[]>
  /** Ends background work (the reconcile loop, warm holders); faults in effect keep their own end. */
  stop?(): Promise<void>
}

/** How long the caller may take to move its connections off the proxy before the proxy drains anyway. */
export const moveLimitMs = 3_000

/** Runs the caller's move (bounded: a request in flight on an old socket may hang until its timeout). */
export async function movedOrTimedOut(move: (() => void | Promise<void>) | undefined): Promise<void> {
  if (!move) return
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, moveLimitMs)))
  try {
    await Promise.race([Promise.resolve(move()).catch(() => undefined), limit])
  } finally {
    clearTimeout(timer)
  }
}
