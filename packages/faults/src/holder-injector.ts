import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import type Docker from 'dockerode'
import type { ContainerFinder } from './host-injector.js'
import type { TargetContainer } from './docker-targets.js'
import {
  backstopAt,
  type FaultEngine,
  type ApplyOptions,
  type FaultReport,
  type PrepareOptions,
  type RevertOptions,
} from './fault-engine.js'
import { RevertOnce, revertEach } from './revert-once.js'
import { intentReport, type Intent } from './fault-journal.js'
import {
  attachToHolder,
  holderCreateOptions,
  holderLabels,
  startHolder,
  type HolderHandle,
} from './holder-container.js'
import { standbyLimitMs, type HoldPlan, type HolderEvent } from './holder-program.js'
import { cleanTarget, Reconciler, type ReconcileDeps } from './holder-reconcile.js'
import type { KernelSupport } from './kernel-probe.js'
import { preflight } from './preflight.js'

/** What the reconcile needs (the image, the owner, run liveness, the grace), and where targets come from. */
export interface HolderInjectorDeps extends Omit<ReconcileDeps, 'busy' | 'settled'> {
  containers: ContainerFinder
}

/** The most targets one fault may hold: one holder container each. */
export const maxHeldTargets = 50
/** How long a holder may take to apply (image start, node start, tc/iptables) before it counts as failed. */
const applyDeadlineMs = 20_000
/** A warm holder that the engine has not started by then is not waited for (the fault starts cold). */
const warmStartMs = 15_000
/** How long a holder may take to revert after SIGTERM (proxy drain is at most ~7 s). */
const revertDeadlineMs = 15_000

interface Held {
  target: TargetContainer
  holder: HolderHandle
}

interface Warm {
  targets: TargetContainer[]
  holders: HolderHandle[]
}

interface ActiveFault {
  spec: FaultSpec
  held: Held[]
  /** Adopted faults: journaled targets with no holder of ours left; their revert is a cleaner. */
  orphans?: Array<{ id: string; name: string }>
  report: FaultReport
  timer: NodeJS.Timeout
}

/**
 * Faults held by holder containers the Docker engine supervises: one holder per target container, in
 * its network namespace, reverting by its own timer even when every process of ours is gone. This
 * engine needs only the Docker API. A reconcile (start and every 5 s) stops holders past their end or
 * of runs that are over, and cleans, with a one-shot cleaner holder, the namespace of any holder that
 * vanished without reverting (docker kill).
 */
export class HolderInjector implements FaultEngine {
  private readonly active = new Map<string, ActiveFault>()
  /** Faults between their journal intent and their last holder's start: the reconcile leaves them alone. */
  private readonly applying = new Set<string>()
  private readonly reverts = new RevertOnce()
  private support: Promise<KernelSupport> | undefined
  /** Prepared faults' warm holders, waiting for their plan. */
  private readonly warm = new Map<string, Warm>()
  readonly reconciler: Reconciler

  constructor(private readonly deps: HolderInjectorDeps) {
    this.reconciler = new Reconciler({
      ...deps,
      // Applying, or reverting (its own revert cleans after its holders): the reconcile waits.
      busy: (id) => this.applying.has(id) || this.reverts.underWay(id),
      settled: (id, report) => this.settledByReconcile(id, report),
    })
  }

  /** The reconcile, once: what dead holders and dead processes left is cleaned. */
  recover(): Promise<string[]> {
    return this.reconciler.once()
  }

  /** Starts the periodic reconcile (on start and every 5 s; the timer does not keep the process alive). */
  startReconcile(intervalMs?: number): void {
    this.reconciler.start(intervalMs)
  }

  stopReconcile(): void {
    this.reconciler.stop()
  }

  /** The kernel's support, probed once by a probe holder in a fresh namespace of its own. */
  kernelSupport(): Promise<KernelSupport> {
    this.support ??= probeWithHolder(this.deps).catch((error: unknown) => {
      this.support = undefined
      throw error
    })
    return this.support
  }

  /**
   * Preflight and targets, then warm holders: started now (container start and node load take a few
   * seconds), they apply the moment the plan arrives, so the fault starts on time. A placement check
   * (`warm: false`) starts nothing.
   */
  async prepare(spec: FaultSpec, options: PrepareOptions = {}): Promise<FaultSpec> {
    const decided = preflight(spec, await this.kernelSupport())
    const targets = capTargets(decided, await this.deps.containers.resolve(decided.target))
    if (options.warm === false) return decided
    await this.dropWarm(decided.id)
    const holders: HolderHandle[] = []
    try {
      for (const target of targets) holders.push(await withDeadline(this.startWarm(decided, target), warmStartMs))
      this.warm.set(decided.id, { targets, holders })
    } catch (error) {
      // Not fatal: the fault is then applied by a holder started cold.
      for (const h of holders) await h.signal('SIGTERM')
      this.deps.log?.(`fault ${decided.id}: no warm holder (${(error as Error).message}); it will start cold`)
    }
    return decided
  }

  private startWarm(spec: FaultSpec, target: TargetContainer): Promise<HolderHandle> {
    return startHolder(
      this.deps.docker,
      holderCreateOptions({
        image: this.deps.image,
        target: target.id,
        cmd: ['fault', 'hold', '-'],
        stdin: true,
        labels: {
          [holderLabels.fault]: spec.id,
          [holderLabels.run]: '',
          // The latest it can end: applied at the end of its wait, for the fault's duration.
          [holderLabels.until]: String(Date.now() + standbyLimitMs + spec.durationMs),
          [holderLabels.owner]: this.deps.owner,
          [holderLabels.target]: target.id,
          [holderLabels.role]: 'hold',
        },
      }),
    )
  }

  /** Warm holders not (or no longer) wanted: SIGTERM ends them before they hold anything. */
  private async dropWarm(id?: string): Promise<void> {
    for (const [key, warm] of this.warm) {
      if (id !== undefined && key !== id) continue
      this.warm.delete(key)
      for (const h of warm.holders) await h.signal('SIGTERM')
    }
  }

  /** The warm holders of a fault, if every one still waits (else none: they are dropped). */
  private async takeWarm(id: string): Promise<Warm | undefined> {
    const warm = this.warm.get(id)
    if (!warm) return undefined
    this.warm.delete(id)
    if (warm.holders.every((h) => h.exitCode() === undefined)) return warm
    for (const h of warm.holders) await h.signal('SIGTERM')
    return undefined
  }

  /** Ends the reconcile loop and any warm holder (the engine's owner is done). */
  async close(): Promise<void> {
    this.stopReconcile()
    await this.dropWarm()
  }

  async apply(
    requested: FaultSpec,
    untilEpochMs = Date.now() + requested.durationMs,
    options: ApplyOptions = {},
  ): Promise<FaultReport> {
    if (this.active.has(requested.id) || this.applying.has(requested.id))
      throw new GauntletError('conflict', `fault ${requested.id} is already active`)
    this.applying.add(requested.id)
    try {
      return await this.applyHolders(requested, untilEpochMs, options)
    } finally {
      this.applying.delete(requested.id)
    }
  }

  private async applyHolders(requested: FaultSpec, untilEpochMs: number, options: ApplyOptions): Promise<FaultReport> {
    const spec = preflight(requested, await this.kernelSupport())
    const warm = await this.takeWarm(spec.id)
    const targets = warm?.targets ?? capTargets(spec, await this.deps.containers.resolve(spec.target))
    for (const t of targets)
      if (!t.ip) throw new GauntletError('fault_failed', `container ${t.name} has no address: nothing to fault`)
    // Write-ahead: the intent is on disk before the first holder exists.
    const intent: Intent = {
      op: 'intent',
      id: spec.id,
      spec,
      targets: targets.map((t) => ({ containerId: t.id, name: t.name, pid: t.pid, iface: '' })),
      untilEpochMs,
      at: Date.now(),
      owner: { pid: process.pid, detached: options.detached === true },
      injector: 'holder',
      holderOwner: this.deps.owner,
      ...(options.run ? { run: options.run } : {}),
    }
    this.deps.journal.append(intent)
    const report = intentReport(intent, 'holder')
    const fault: ActiveFault = { spec, held: [], report, timer: setTimeout(() => undefined, 0) }
    this.active.set(spec.id, fault)
    try {
      for (const [i, target] of targets.entries())
        fault.held.push(await this.startOne(spec, target, untilEpochMs, options, warm?.holders[i]))
    } catch (error) {
      await this.revert(spec.id, 'apply failed').catch(() => undefined)
      throw error
    }
    report.appliedAt = new Date().toISOString()
    report.notes.push(
      `held by holder container${fault.held.length > 1 ? 's' : ''} ${fault.held.map((h) => h.holder.id.slice(0, 12)).join(', ')}`,
    )
    if (options.detached) {
      // This process exits now; the holders revert by their own timers (a later revert finds them by label).
      for (const h of fault.held) h.holder.detach()
      this.active.delete(spec.id)
    } else {
      // A run that owns the fault reverts it itself (with its drain handshake); this timer is then a backstop.
      const endAt = options.run !== undefined ? backstopAt(spec, untilEpochMs) : untilEpochMs
      fault.timer = setTimeout(
        () => void this.revert(spec.id, 'duration ended').catch(() => undefined),
        Math.max(0, endAt - Date.now()),
      )
    }
    this.deps.log?.(
      `fault ${spec.id}: ${spec.type} (${spec.mechanism}) on ${report.targets.join(', ')} until ${report.untilAt}`,
    )
    return report
  }

  /** One holder on one target: started attached, and applied (read back) within the deadline. */
  private async startOne(
    spec: FaultSpec,
    target: TargetContainer,
    untilEpochMs: number,
    options: ApplyOptions,
    warm: HolderHandle | undefined,
  ): Promise<Held> {
    const plan: HoldPlan = { spec, untilEpochMs, ip: target.ip }
    if (warm) warm.send(JSON.stringify(plan))
    const holder =
      warm ??
      (await startHolder(
        this.deps.docker,
        holderCreateOptions({
          image: this.deps.image,
          target: target.id,
          cmd: ['fault', 'hold', JSON.stringify(plan)],
          labels: {
            [holderLabels.fault]: spec.id,
            [holderLabels.run]: options.run ?? '',
            [holderLabels.until]: String(untilEpochMs),
            [holderLabels.owner]: this.deps.owner,
            [holderLabels.target]: target.id,
            [holderLabels.role]: 'hold',
          },
        }),
      ))
    const held = { target, holder }
    holder.onEvent((e) => this.observe(spec.id, held, e))
    // Killed without reverting (docker kill, OOM): its marks are cleaned now, not at the next tick.
    void holder.exited.then((code) => {
      if (code !== -1 && !holder.events.some((e) => e.event === 'reverted') && !this.applying.has(spec.id))
        void this.reconciler.once().catch(() => undefined)
    })
    const first = await holder.next((e) => e.event === 'applied' || e.event === 'error', applyDeadlineMs)
    if (first?.event === 'applied') return held
    if (!first) await holder.signal('SIGKILL')
    const why =
      first?.event === 'error'
        ? first.message
        : holder.exitCode() !== undefined
          ? `it exited (${holder.exitCode()}) before applying: ${holder.output() || 'no output'}`
          : `it did not apply within ${applyDeadlineMs / 1000} s`
    // Its own revert (after an error) runs; the revert below waits for it or cleans after it.
    ;(this.active.get(spec.id)?.held ?? []).push(held)
    throw new GauntletError('fault_failed', `fault ${spec.id} on ${target.name}: the holder failed: ${why}`)
  }

  /** Every event of a holder: a reverted one settles its target in the journal at once. */
  private observe(id: string, held: Held, event: HolderEvent): void {
    if (event.event === 'reverted')
      this.deps.journal.append({
        op: 'settled',
        id,
        containerId: held.target.id,
        verified: event.verified,
        at: Date.now(),
      })
  }

  revert(id: string, reason: string, options: RevertOptions = {}): Promise<FaultReport> {
    return this.reverts.run(id, () => this.revertNow(id, reason, options))
  }

  private async revertNow(id: string, reason: string, options: RevertOptions): Promise<FaultReport> {
    let fault = this.active.get(id)
    if (!fault) fault = await this.adopt(id)
    clearTimeout(fault.timer)
    let drained: Promise<void> | undefined
    const drain = (): Promise<void> => (drained ??= Promise.resolve(options.beforeDrain?.()).catch(() => undefined))
    let verified = true
    // All holders at once: each drains and reverts on its own; the run's beforeDrain runs once.
    const results = await Promise.all([
      ...fault.held.map((held) => this.revertOne(fault, held, drain)),
      ...(fault.orphans ?? []).map((target) => this.cleanOne(fault, target)),
    ])
    for (const ok of results) verified &&= ok
    this.active.delete(id)
    this.settle(fault.report, verified, reason)
    if (!verified)
      throw new GauntletError(
        'fault_failed',
        `fault ${id} did not read back clean after its revert: ${fault.report.notes.join('; ')}`,
      )
    return fault.report
  }

  /** SIGTERM, the drain handshake, the holder's own read-back; a holder gone without one gets a cleaner. */
  private async revertOne(fault: ActiveFault, held: Held, drain: () => Promise<void>): Promise<boolean> {
    const { holder, target } = held
    holder.onEvent((e) => {
      if (e.event === 'draining') void drain().then(() => holder.signal('SIGUSR1'))
    })
    if (holder.events.some((e) => e.event === 'draining') && !holder.events.some((e) => e.event === 'reverted'))
      void drain().then(() => holder.signal('SIGUSR1'))
    if (holder.exitCode() === undefined) await holder.signal('SIGTERM')
    const reverted = await holder.next((e) => e.event === 'reverted', revertDeadlineMs)
    if (reverted?.event === 'reverted') {
      fault.report.notes.push(
        ...reverted.notes.filter((n) => !n.startsWith('reverted:')).map((n) => `${target.name}: ${n}`),
      )
      if (reverted.verified) return true
      // Its read-back found marks left: a cleaner tries again (the reconcile retries after that).
      await holder.exited
    } else {
      // It never said it reverted (killed, or hung): stop it for good and clean its namespace ourselves.
      await holder.signal('SIGKILL')
      fault.report.notes.push(`${target.name}: its holder ended without reverting (${holder.output() || 'no output'})`)
    }
    return this.cleanOne(fault, { id: target.id, name: target.name })
  }

  /** A one-shot cleaner in one target's namespace; its read-back settles the target in the journal. */
  private async cleanOne(fault: ActiveFault, target: { id: string; name: string }): Promise<boolean> {
    const cleaned = await cleanTarget(this.deps, fault.spec, target.id)
    fault.report.notes.push(`${target.name}: ${cleaned.note}`)
    this.deps.journal.append({
      op: 'settled',
      id: fault.spec.id,
      containerId: target.id,
      verified: cleaned.verified,
      at: Date.now(),
    })
    return cleaned.verified
  }

  private settle(report: FaultReport, verified: boolean, reason: string): void {
    // Not read back clean: the journal keeps it open, so the reconcile retries its cleaner each round.
    if (verified) this.deps.journal.append({ op: 'reverted', id: report.id, at: Date.now() })
    report.revertedAt = new Date().toISOString()
    report.revertVerified = verified
    report.notes.push(`reverted: ${reason}`)
    this.reverts.finished(report.id, report)
    this.deps.log?.(`fault ${report.id}: reverted (${reason})${verified ? ', read back clean' : ', NOT clean'}`)
  }

  /** The reconcile reverted a fault of ours (its holder was killed): later reverts get its report. */
  private settledByReconcile(id: string, report: FaultReport): void {
    const fault = this.active.get(id)
    if (fault) {
      clearTimeout(fault.timer)
      this.active.delete(id)
    }
    this.reverts.finished(id, report)
  }

  /** A fault another process applied (a detached `gauntlet fault apply`): its holders, found by label. */
  private async adopt(id: string): Promise<ActiveFault> {
    // Another engine's fault on a shared journal is not ours to revert (its holders carry its owner).
    const intent = this.deps.journal
      .unreverted()
      .find((i) => i.id === id && i.injector === 'holder' && i.holderOwner === this.deps.owner)
    const listed = await this.deps.docker.listContainers({
      filters: {
        label: [`${holderLabels.fault}=${id}`, `${holderLabels.owner}=${this.deps.owner}`, `${holderLabels.role}=hold`],
      },
    })
    if (!intent && listed.length === 0) throw new GauntletError('not_found', `no active fault ${id}`)
    const held: Held[] = []
    for (const c of listed) {
      const targetId = c.Labels[holderLabels.target] ?? ''
      const known = intent?.targets.find((t) => t.containerId === targetId)
      held.push({
        target: { id: targetId, name: known?.name ?? targetId.slice(0, 12), pid: 0, ip: '', labels: {} },
        holder: await attachToHolder(this.deps.docker, c.Id),
      })
    }
    // Journaled targets not yet read back clean whose holder is gone: a cleaner each, not a "verified" on faith.
    const orphans = (intent?.targets ?? [])
      .filter((t) => t.settled !== true && !held.some((h) => h.target.id === t.containerId))
      .map((t) => ({ id: t.containerId, name: t.name }))
    const report = intent ? intentReport(intent, 'holder') : labelReport(id, listed)
    return {
      spec: intent?.spec ?? ({ id } as FaultSpec),
      held,
      orphans,
      report,
      timer: setTimeout(() => undefined, 0),
    }
  }

  async revertAll(reason: string): Promise<FaultReport[]> {
    await this.dropWarm()
    return revertEach([...this.active.keys()], (id) => this.revert(id, reason), this.deps.log)
  }

  /** Faults in effect now: this process's, and those of this journal whose holders still run. */
  async list(): Promise<FaultReport[]> {
    const own = [...this.active.values()].map((f) => ({ ...f.report, notes: [...f.report.notes] }))
    const listed = await this.deps.docker.listContainers({
      filters: { label: [`${holderLabels.owner}=${this.deps.owner}`, `${holderLabels.role}=hold`] },
    })
    const running = new Set(listed.map((c) => c.Labels[holderLabels.fault]))
    const others = this.deps.journal
      .unreverted()
      .filter((i) => i.injector === 'holder' && !this.active.has(i.id) && running.has(i.id))
      .map((i) => intentReport(i, 'holder'))
    return [...own, ...others]
  }
}

/** One holder container per target: a fault on more than the cap is refused before any starts. */
function capTargets(spec: FaultSpec, targets: TargetContainer[]): TargetContainer[] {
  if (targets.length > maxHeldTargets)
    throw new GauntletError(
      'unsupported',
      `fault ${spec.id} targets ${targets.length} containers; a fault may hold at most ${maxHeldTargets} ` +
        `(one holder container each): narrow the target, or use mode: one or percent`,
    )
  return targets
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the engine did not start it within ${ms / 1000} s`)), ms)
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

/** A fault known only from its holders' labels (its journal is elsewhere). */
function labelReport(id: string, holders: Docker.ContainerInfo[]): FaultReport {
  const until = Number(holders[0]?.Labels[holderLabels.until] ?? 0)
  return {
    id,
    type: 'delay',
    mechanism: 'auto',
    targets: holders.map((h) => (h.Labels[holderLabels.target] ?? '').slice(0, 12)),
    appliedAt: new Date(holders[0]?.Created ? holders[0].Created * 1000 : Date.now()).toISOString(),
    untilAt: new Date(until).toISOString(),
    revertedAt: null,
    revertVerified: false,
    notes: ['known from its holder containers only (no journal entry here)'],
    injector: 'holder',
  }
}

/** `gauntlet fault probe` in a fresh namespace of its own, with only NET_ADMIN: what this kernel can do. */
async function probeWithHolder(deps: HolderInjectorDeps): Promise<KernelSupport> {
  const holder = await startHolder(
    deps.docker,
    holderCreateOptions({
      image: deps.image,
      target: undefined,
      cmd: ['fault', 'probe'],
      labels: { [holderLabels.owner]: deps.owner, [holderLabels.role]: 'probe' },
    }),
  )
  const code = await Promise.race([holder.exited, new Promise<number>((r) => setTimeout(() => r(-2), 30_000).unref())])
  if (code === -2) await holder.signal('SIGKILL')
  const line = holder
    .output()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'))
  if (code !== 0 || !line)
    throw new GauntletError(
      'unsupported',
      `the kernel probe holder (image ${deps.image}) ${code === -2 ? 'did not finish in 30 s' : `exited ${code}`}: ${holder.output() || 'no output'}`,
    )
  return JSON.parse(line) as KernelSupport
}
