import { GauntletError, type AgentFaultReport, type FaultSpec, type FaultTarget } from '@gauntlet/contracts'
import type { AppliedFault, FaultInjector } from '../faults/fault-injector.js'
import type { FaultHolder } from './fault-holders.js'

/** A fault as the controller reports it: what its holder said, and which agent that was. */
export type RoutedFaultReport = AgentFaultReport & { agent?: string }

/** Who holds a fault (or will: chosen by prepare, kept until its revert). */
interface Route {
  key: string
  runId?: string
  /** Other holders whose engines also hold matching containers (a note for the record). */
  alsoMatching: string[]
  at: number
}

/** How long any holder may take to answer a prepare (agents are asked in parallel). */
const prepareLimitMs = 10_000
/** A prepared fault that was never applied (its run ended first) is forgotten after this. */
const preparedTtlMs = 24 * 3600_000

/**
 * Routes each fault to a holder whose Docker engine holds its target: the fault-capable agents
 * (started with --docker) that heartbeat, and the controller's own engine when it was started with
 * --docker. Prepare asks every holder at once and picks the first (in `holders()` order) that can;
 * apply and revert go to that one. None can: a 409 naming the target and what each holder answered.
 */
export class FaultRouter implements FaultInjector {
  private readonly prepared = new Map<string, Route>()
  private readonly routes = new Map<string, Route>()

  constructor(
    /** Holders in order of preference; `live` false: also those no longer heartbeating (to revert). */
    private readonly holders: (live: boolean) => FaultHolder[],
    /** What to say when no holder exists at all (how many agents are connected without --docker). */
    private readonly noHolder: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs with faults held by this agent now (its heartbeat reply names them). */
  faultRunsOf(agent: string): string[] {
    const runs = new Set<string>()
    for (const route of this.routes.values()) if (route.key === agent && route.runId) runs.add(route.runId)
    return [...runs]
  }

  /** A check only: the holders resolve and preflight, and start nothing (no warm holders left unused). */
  async assertPlaceable(specs: readonly FaultSpec[]): Promise<void> {
    await Promise.all(specs.map((spec) => this.route(spec, true)))
  }

  async prepare(spec: FaultSpec): Promise<FaultSpec> {
    const { route, spec: decided } = await this.route(spec)
    for (const [id, old] of this.prepared) if (this.now() - old.at > preparedTtlMs) this.prepared.delete(id)
    this.prepared.set(spec.id, route)
    return decided
  }

  async apply(
    spec: FaultSpec,
    untilEpochMs: number,
    options: { run?: string } = {},
  ): Promise<AppliedFault & RoutedFaultReport> {
    let route = this.prepared.get(spec.id)
    let decided = spec
    if (!route) ({ route, spec: decided } = await this.route(spec))
    this.prepared.delete(spec.id)
    const holder = this.holders(true).find((h) => h.key === route.key)
    if (!holder) throw new GauntletError('conflict', `fault ${spec.id}: ${route.key} is no longer connected`)
    // Known before the order leaves: a heartbeat reply in between must already name its run.
    this.routes.set(spec.id, { ...route, ...(options.run ? { runId: options.run } : {}), at: this.now() })
    try {
      const report = await holder.apply(decided, untilEpochMs, options.run)
      const notes = route.alsoMatching.length
        ? [
            ...report.notes,
            `${route.alsoMatching.join(', ')} ${route.alsoMatching.length === 1 ? 'holds' : 'hold'} matching ` +
              `containers too: this fault acts on ${holder.label}'s only`,
          ]
        : report.notes
      return { ...report, notes, ...(holder.agent ? { agent: holder.agent } : {}) }
    } catch (error) {
      this.routes.delete(spec.id)
      throw error
    }
  }

  async revert(
    id: string,
    reason: string,
    options: { beforeDrain?: () => void | Promise<void> } = {},
  ): Promise<AppliedFault & RoutedFaultReport> {
    const route = this.routes.get(id)
    // Whatever the answer, the fault is no longer wanted: its agent drops it if this revert did not reach it.
    this.routes.delete(id)
    const all = this.holders(false)
    const holders = route ? all.filter((h) => h.key === route.key) : all
    if (holders.length === 0)
      throw new GauntletError('conflict', `fault ${id} is held by ${route?.key ?? 'nobody known'}, not connected now`)
    // Unknown here (applied before a restart): whoever holds it answers, the others say 404.
    const answers = await Promise.allSettled(holders.map((h) => h.revert(id, reason, options)))
    const index = answers.findIndex((a) => a.status === 'fulfilled')
    if (index >= 0) {
      const report = (answers[index] as PromiseFulfilledResult<AgentFaultReport>).value
      const agent = holders[index]!.agent
      return { ...report, ...(agent ? { agent } : {}) }
    }
    const errors = answers.map((a) => (a as PromiseRejectedResult).reason as Error)
    const other = errors.find((e) => !(e instanceof GauntletError && e.code === 'not_found'))
    throw other ?? new GauntletError('not_found', `no active fault ${id}`)
  }

  /** The faults every connected holder has in effect (a holder that does not answer is left out). */
  async list(): Promise<RoutedFaultReport[]> {
    const holders = this.holders(true)
    const answers = await Promise.allSettled(holders.map((h) => h.list()))
    return answers.flatMap((answer, i) => {
      if (answer.status === 'rejected') return []
      const agent = holders[i]!.agent
      return answer.value.map((report) => ({ ...report, ...(agent ? { agent } : {}) }))
    })
  }

  /** Asks every live holder at once; the first (in order) that can carry the fault gets it. */
  private async route(spec: FaultSpec, check = false): Promise<{ route: Route; spec: FaultSpec }> {
    const holders = this.holders(true)
    if (holders.length === 0)
      throw new GauntletError(
        'conflict',
        `fault ${spec.id}: nothing can inject a fault on ${describeTarget(spec.target)}: ${this.noHolder()}`,
      )
    const answers = await Promise.allSettled(holders.map((h) => withinLimit(h.prepare(spec, check), h.label)))
    const able = answers.flatMap((a, i) => (a.status === 'fulfilled' ? [{ holder: holders[i]!, ...a.value }] : []))
    const chosen = able[0]
    if (chosen) {
      const same = (targets: string[]): boolean => targets.join('\n') === chosen.targets.join('\n')
      const alsoMatching = able
        .slice(1)
        .filter((a) => !same(a.targets))
        .map((a) => a.holder.label)
      return { route: { key: chosen.holder.key, alsoMatching, at: this.now() }, spec: chosen.spec }
    }
    const reasons = answers.map((a) => ((a as PromiseRejectedResult).reason as Error).message)
    // The controller's own engine alone (--docker, no agents): its refusal as it is (404 no such container...).
    const only = (answers[0] as PromiseRejectedResult).reason as unknown
    if (holders.length === 1 && !holders[0]!.agent && only instanceof GauntletError) throw only
    throw new GauntletError(
      'conflict',
      `no fault-capable agent can reach the target of fault ${spec.id}, ${describeTarget(spec.target)}: ` +
        holders.map((h, i) => `${h.label}: ${reasons[i]}`).join('; '),
    )
  }
}

/** container "x", label a=b, compose service "web": as a person would name the target. */
export function describeTarget(target: FaultTarget): string {
  if (target.container !== undefined) return `container "${target.container}"`
  if (target.label !== undefined) return `label ${target.label}`
  return `compose service "${target.service ?? ''}"`
}

async function withinLimit<T>(work: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new GauntletError('target_unreachable', `${label} did not answer within ${prepareLimitMs / 1000} s`)),
      prepareLimitMs,
    )
  })
  try {
    return await Promise.race([work, limit])
  } finally {
    clearTimeout(timer)
  }
}
