import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { TargetContainer } from './docker-targets.js'
import { RevertOnce, revertEach } from './revert-once.js'
import { intentReport, type FaultJournal, type Intent, type JournalTarget } from './fault-journal.js'
import { planFault, qdiscHandle, type FaultPlan } from './fault-plan.js'
import {
  backstopAt,
  movedOrTimedOut,
  type ApplyOptions,
  type FaultEngine,
  type FaultReport,
  type RevertOptions,
} from './fault-engine.js'
import { kernelSupport, type KernelSupport } from './kernel-probe.js'
import { preflight } from './preflight.js'
import { interfaceOf, isClean, marksOf, readMarks, removeMarks } from './namespace-state.js'
import { mustRun, type Netns } from './netns.js'

/** Where the engine finds containers (DockerTargets in production). */
export interface ContainerFinder {
  resolve(target: FaultSpec['target']): Promise<TargetContainer[]>
  inspect(id: string): Promise<TargetContainer | undefined>
  /** Every running container, for recovery. */
  running(): Promise<TargetContainer[]>
}

interface AppliedTarget extends JournalTarget {
  plan: FaultPlan
  deadmanPid?: number
}

/** A target as the journal keeps it: its plan is derived again from the intent's spec. */
function journalTarget({ plan, ...target }: AppliedTarget): JournalTarget {
  void plan
  return target
}

interface ActiveFault {
  spec: FaultSpec
  targets: AppliedTarget[]
  report: FaultReport
  timer: NodeJS.Timeout
}

const dist = (file: string): string => new URL(`./${file}`, import.meta.url).pathname

/**
 * Applies network faults to containers and guarantees their revert: journaled before applying,
 * self-expiring in the kernel (iptables) and by a detached dead man's switch (tc, proxy), reverted
 * and read back on time, on stop, and by the next start after a crash.
 */
export class HostInjector implements FaultEngine {
  private readonly active = new Map<string, ActiveFault>()
  /** Recently reverted faults, so a second revert (a run's and the fault's own timer) returns the same report. */
  private readonly reverts = new RevertOnce()

  constructor(
    private readonly deps: {
      containers: ContainerFinder
      netns: Netns
      journal: FaultJournal
      support?: () => Promise<KernelSupport>
      log?: (line: string) => void
    },
  ) {}

  /**
   * Before anything else: undo whatever a dead process left. A journaled fault is live while its owner
   * runs (or, applied detached, until its end); every other journaled fault is reverted, and so is
   * every Gauntlet mark in any running container that no live fault claims.
   */
  recover(): Promise<string[]> {
    return this.deps.journal.withLock(() => this.recoverLocked())
  }

  private async recoverLocked(): Promise<string[]> {
    const cleaned = new Set<string>()
    const live: Intent[] = []
    for (const intent of this.deps.journal.unreverted()) {
      // Held by holder containers: theirs to revert (and the reconcile's); their marks are claimed.
      if (isLive(intent) || intent.injector === 'holder') {
        live.push(intent)
        continue
      }
      const report = await this.revertRecorded(intent, 'left by a process that is gone')
      if (report.notes.some((n) => n.startsWith('removed'))) cleaned.add(report.targets.join(', '))
    }
    const claimed = new Set(live.map((i) => i.id))
    const claimedQdiscs = new Set(
      live
        .filter((i) => i.spec.mechanism === 'netem' || i.spec.mechanism === 'tbf')
        .flatMap((i) => i.targets.map((t) => `${t.containerId}/${t.iface}`)),
    )
    for (const container of await this.deps.containers.running()) {
      const marks = await readMarks(this.deps.netns, container.pid)
      const orphan = {
        qdiscs: marks.qdiscs.filter((iface) => !claimedQdiscs.has(`${container.id}/${iface}`)),
        rules: marks.rules.filter(
          (r) => ![...claimed].some((id) => marksOf({ ...marks, rules: [r] }, id).rules.length > 0),
        ),
        chains: marks.chains.filter(
          (c) => ![...claimed].some((id) => marksOf({ ...marks, chains: [c] }, id).chains.length > 0),
        ),
      }
      if (isClean(orphan)) continue
      await removeMarks(this.deps.netns, container.pid, orphan, true)
      cleaned.add(container.name)
    }
    this.deps.journal.keepOnly(live)
    if (cleaned.size > 0) this.deps.log?.(`reverted faults left by a previous process in: ${[...cleaned].join(', ')}`)
    return [...cleaned]
  }

  /** Checks that this kernel can carry the fault, before any load (and decides `auto`). */
  async preflight(spec: FaultSpec): Promise<FaultSpec> {
    return preflight(spec, await (this.deps.support ?? kernelSupport)())
  }

  /** Applies a fault to its targets until `untilEpochMs` (default: now + its duration). */
  apply(
    requested: FaultSpec,
    untilEpochMs = Date.now() + requested.durationMs,
    options: ApplyOptions = {},
  ): Promise<FaultReport> {
    // Under the journal lock: another process's recovery must not take a fault half applied for an orphan.
    return this.deps.journal.withLock(() => this.applyLocked(requested, untilEpochMs, options))
  }

  private async applyLocked(requested: FaultSpec, untilEpochMs: number, options: ApplyOptions): Promise<FaultReport> {
    if (this.active.has(requested.id)) throw new GauntletError('conflict', `fault ${requested.id} is already active`)
    const spec = await this.preflight(requested)
    const containers = await this.deps.containers.resolve(spec.target)
    const targets: AppliedTarget[] = []
    for (const c of containers) {
      targets.push({
        containerId: c.id,
        name: c.name,
        pid: c.pid,
        iface: await this.iface(c),
        plan: { apply: [], revert: [], marks: { qdisc: false, rules: false } },
      })
    }
    // The intent is on disk before the first command runs.
    const intent: Intent = {
      op: 'intent',
      id: spec.id,
      spec,
      targets: targets.map(journalTarget),
      untilEpochMs,
      at: Date.now(),
      owner: { pid: process.pid, detached: options.detached === true },
    }
    this.deps.journal.append(intent)
    const report = intentReport(intent, 'host')
    // A detached fault is left to its dead man's switch: this process is about to exit. A run that owns
    // the fault reverts it itself (with its drain handshake); this timer is then a backstop.
    const endAt = options.run !== undefined ? backstopAt(spec, untilEpochMs) : untilEpochMs
    const timer = setTimeout(
      () => void this.revert(spec.id, 'duration ended').catch(() => undefined),
      Math.max(0, endAt - Date.now()),
    )
    if (options.detached) timer.unref()
    const fault: ActiveFault = { spec, targets, report, timer }
    this.active.set(spec.id, fault)
    try {
      for (const [i, target] of targets.entries()) await this.applyTo(spec, target, containers[i]!, untilEpochMs, endAt)
    } catch (error) {
      await this.revert(spec.id, 'apply failed').catch(() => undefined)
      throw error
    }
    report.appliedAt = new Date().toISOString()
    this.deps.log?.(
      `fault ${spec.id}: ${spec.type} (${spec.mechanism}) on ${report.targets.join(', ')} until ${report.untilAt}`,
    )
    return report
  }

  /** Preflight and target check together: what a run does for each fault before any load. */
  async prepare(spec: FaultSpec): Promise<FaultSpec> {
    const decided = await this.preflight(spec)
    await this.deps.containers.resolve(decided.target)
    return decided
  }

  /** Reverts a fault on every target and reads each namespace back. Idempotent: a second call gets the same report. */
  revert(id: string, reason: string, options: RevertOptions = {}): Promise<FaultReport> {
    return this.reverts.run(id, () => this.revertNow(id, reason, options))
  }

  private async revertNow(id: string, reason: string, options: RevertOptions): Promise<FaultReport> {
    const fault = this.active.get(id)
    if (!fault) {
      // Applied by another process (a detached `gauntlet fault apply`): revert it from its journal record.
      const intent = this.deps.journal.unreverted().find((i) => i.id === id)
      if (!intent) throw new GauntletError('not_found', `no active fault ${id}`)
      const report = await this.revertRecorded(intent, reason)
      if (!report.revertVerified)
        throw new GauntletError(
          'fault_failed',
          `fault ${id} did not read back clean after its revert: ${report.notes.join('; ')}`,
        )
      return report
    }
    clearTimeout(fault.timer)
    let verified = true
    let drainAnnounced = false
    for (const target of fault.targets) {
      killIfOurs(target.deadmanPid, 'deadman')
      if (target.plan.drain && target.proxyPid !== undefined) {
        // New connections bypass the proxy from here; the caller moves its own connections off it
        // before the proxy starts ending idle ones, so none of them races a request into a closing socket.
        for (const command of target.plan.drain) await this.deps.netns.run(target.pid, command)
        if (!drainAnnounced) await movedOrTimedOut(options.beforeDrain)
        drainAnnounced = true
      }
      // The proxy drains its connections and removes its own redirect; wait for it (bounded) first.
      if (killIfOurs(target.proxyPid, 'latency-proxy-main')) await exited(target.proxyPid!, 7_000)
      const now = await this.deps.containers.inspect(target.containerId)
      if (!now || now.pid !== target.pid) {
        // Its network namespace is gone, and the fault with it; a restarted container starts clean.
        fault.report.notes.push(
          `${target.name} ${now ? 'restarted' : 'disappeared'} during the fault: its old network namespace ` +
            `went with it`,
        )
        if (now && !isClean(marksOf(await readMarks(this.deps.netns, now.pid), id), false)) verified = false
        continue
      }
      for (const command of target.plan.revert) await this.deps.netns.run(target.pid, command)
      let left = marksOf(await readMarks(this.deps.netns, target.pid), id)
      if (!isClean(left, target.plan.marks.qdisc)) {
        await removeMarks(this.deps.netns, target.pid, left, target.plan.marks.qdisc)
        left = marksOf(await readMarks(this.deps.netns, target.pid), id)
      }
      if (!isClean(left, target.plan.marks.qdisc)) {
        verified = false
        fault.report.notes.push(`${target.name}: still shows ${JSON.stringify(left)} after revert`)
      }
    }
    this.active.delete(id)
    this.reverts.finished(id, fault.report)
    this.deps.journal.append({ op: 'reverted', id, at: Date.now() })
    fault.report.revertedAt = new Date().toISOString()
    fault.report.revertVerified = verified
    fault.report.notes.push(`reverted: ${reason}`)
    this.deps.log?.(`fault ${id}: reverted (${reason})${verified ? ', read back clean' : ', NOT clean'}`)
    if (!verified)
      throw new GauntletError(
        'fault_failed',
        `fault ${id} did not read back clean after its revert: ${fault.report.notes.join('; ')}`,
      )
    return fault.report
  }

  /** Reverts everything active (run end, abort, signals). Reports what it could not clean. */
  async revertAll(reason: string): Promise<FaultReport[]> {
    return revertEach([...this.active.keys()], (id) => this.revert(id, reason), this.deps.log)
  }

  /** Active faults: this process's, and live ones other processes journaled (detached applies). */
  list(): Promise<FaultReport[]> {
    const own = [...this.active.values()].map((f) => ({ ...f.report }))
    const others = this.deps.journal
      .unreverted()
      .filter((i) => !this.active.has(i.id) && isLive(i))
      .map((i) => intentReport(i, 'host'))
    return Promise.resolve([...own, ...others])
  }

  /** Reverts a fault known only from its journal record: kills its helpers, removes its marks, reads back. */
  private async revertRecorded(intent: Intent, reason: string): Promise<FaultReport> {
    const report = intentReport(intent, 'host')
    let verified = true
    for (const target of intent.targets) {
      killIfOurs(target.deadmanPid, 'deadman')
      killIfOurs(target.proxyPid, 'latency-proxy-main')
      const now = await this.deps.containers.inspect(target.containerId)
      if (!now) {
        report.notes.push(`${target.name} is gone: nothing to revert`)
        continue
      }
      // Our qdisc only in the namespace we put it in (a restarted container has a new one).
      const qdiscToo = now.pid === target.pid && (intent.spec.mechanism === 'netem' || intent.spec.mechanism === 'tbf')
      const marks = marksOf(await readMarks(this.deps.netns, now.pid), intent.id)
      const found = { ...marks, qdiscs: qdiscToo ? marks.qdiscs.filter((i) => i === target.iface) : [] }
      if (!isClean(found)) {
        await removeMarks(this.deps.netns, now.pid, found, qdiscToo)
        report.notes.push(`removed from ${target.name}`)
      }
      const left = marksOf(await readMarks(this.deps.netns, now.pid), intent.id)
      if (!isClean({ ...left, qdiscs: qdiscToo ? left.qdiscs.filter((i) => i === target.iface) : [] })) verified = false
    }
    this.deps.journal.append({ op: 'reverted', id: intent.id, at: Date.now() })
    report.revertedAt = new Date().toISOString()
    report.revertVerified = verified
    report.notes.push(`reverted: ${reason}`)
    this.reverts.finished(intent.id, report)
    return report
  }

  private async iface(container: TargetContainer): Promise<string> {
    try {
      return await interfaceOf(this.deps.netns, container.pid, container.ip)
    } catch (error) {
      throw new GauntletError(
        'fault_failed',
        `container ${container.name}: cannot find the interface carrying ${container.ip}: ${(error as Error).message}`,
      )
    }
  }

  private async applyTo(
    spec: FaultSpec,
    target: AppliedTarget,
    container: TargetContainer,
    untilEpochMs: number,
    /** When this process's own timer ends it; the proxy ends itself then too, should this process die. */
    endAt: number,
  ): Promise<void> {
    if (spec.mechanism === 'netem' || spec.mechanism === 'tbf') await this.refuseForeignQdisc(target)
    // The proxy's port is chosen here so the plan (and the proxy's own cleanup) is known in advance.
    const proxyPort = spec.mechanism === 'proxy' ? 40_000 + Math.floor(Math.random() * 20_000) : undefined
    target.plan = planFault(spec, {
      iface: target.iface,
      untilEpochMs,
      ...(proxyPort !== undefined ? { proxyPort } : {}),
    })
    if (proxyPort !== undefined) {
      target.proxyPid = await this.startProxy(spec, target, container, proxyPort, endAt)
      this.deps.journal.append({
        op: 'helpers',
        id: spec.id,
        containerId: target.containerId,
        proxyPid: target.proxyPid,
      })
    }
    for (const command of target.plan.apply) await mustRun(this.deps.netns, target.pid, command)
    const marks = marksOf(await readMarks(this.deps.netns, target.pid), spec.id)
    if (
      (target.plan.marks.qdisc && !marks.qdiscs.includes(target.iface)) ||
      (target.plan.marks.rules && marks.rules.length === 0)
    ) {
      throw new GauntletError(
        'fault_failed',
        `fault ${spec.id} on ${target.name}: the commands succeeded but the namespace does not show the fault`,
      )
    }
    target.deadmanPid = startDeadman(target.pid, untilEpochMs + 1000, target.plan.revert)
    if (target.deadmanPid !== undefined)
      this.deps.journal.append({
        op: 'helpers',
        id: spec.id,
        containerId: target.containerId,
        deadmanPid: target.deadmanPid,
      })
  }

  /** Never replace a root qdisc the platform set up (only the kernel's default, handle 0:, or ours). */
  private async refuseForeignQdisc(target: AppliedTarget): Promise<void> {
    const root = (
      await mustRun(this.deps.netns, target.pid, ['tc', 'qdisc', 'show', 'dev', target.iface, 'root'])
    ).trim()
    const handle = /^qdisc \S+ (\S+) root/.exec(root)?.[1]
    if (handle === qdiscHandle) {
      // One qdisc fault per interface: a second would silently replace the first (and die with its revert).
      const holder = [...this.active.values()].find((f) =>
        f.targets.some((t) => t.containerId === target.containerId && t.iface === target.iface && t.plan.marks.qdisc),
      )
      throw new GauntletError(
        'conflict',
        `container ${target.name}: ${target.iface} already ` +
          `carries ${holder ? `fault ${holder.spec.id}` : 'a Gauntlet qdisc fault'}; one delay, loss or ` +
          `bandwidth fault per interface at a time`,
      )
    }
    if (handle && handle !== '0:') {
      throw new GauntletError(
        'fault_failed',
        `container ${target.name}: ${target.iface} already has a root qdisc Gauntlet did not create ` +
          `(${root}); refusing to replace it`,
      )
    }
  }

  /**
   * The latency proxy runs as its own process inside the target's network namespace and ends by itself
   * at `untilEpochMs`, deleting its REDIRECT rule first (the plan's revert), even if we are gone by then.
   */
  private startProxy(
    spec: FaultSpec,
    target: AppliedTarget,
    container: TargetContainer,
    port: number,
    endAt: number,
  ): Promise<number> {
    const child = spawn(
      'nsenter',
      [
        ...['-t', String(target.pid), '-n', process.execPath, dist('latency-proxy-main.js')],
        ...['--listen-host', '0.0.0.0', '--listen-port', String(port)],
        ...['--upstream-host', container.ip, '--upstream-port', String(spec.port)],
        ...['--latency-ms', String(spec.latencyMs ?? 0), '--jitter-ms', String(spec.jitterMs ?? 0)],
        ...[
          // The proxy's own deadline: its end, should this process die first (a run's fault: a backstop).
          '--until',
          String(endAt),
          '--cleanup',
          JSON.stringify(target.plan.revert),
          '--drain',
          JSON.stringify(target.plan.drain ?? []),
        ],
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    return new Promise((resolve, reject) => {
      let stderr = ''
      child.stderr.on('data', (chunk) => (stderr += chunk))
      const lines = createInterface({ input: child.stdout })
      lines.on('line', (line) => {
        if (!/^listening /.test(line)) return
        lines.close()
        // Let go of it entirely (it ignores write errors on a closed pipe), so it never holds this process open.
        child.stdout.destroy()
        child.stderr.destroy()
        child.unref()
        resolve(child.pid!)
      })
      child.once('exit', (code) =>
        reject(
          new GauntletError(
            'fault_failed',
            `the latency proxy for ${target.name} exited (${code}) before listening: ${stderr.trim()}`,
          ),
        ),
      )
    })
  }
}

/** Live: its owner process still runs Gauntlet, or it was applied detached and has not reached its end. */
function isLive(intent: Intent): boolean {
  if (intent.owner.detached) return intent.untilEpochMs > Date.now()
  if (intent.owner.pid === process.pid) return false
  try {
    return readFileSync(`/proc/${intent.owner.pid}/cmdline`, 'utf8').includes('gauntlet')
  } catch {
    return false
  }
}

function startDeadman(pid: number, at: number, commands: readonly (readonly string[])[]): number | undefined {
  const child = spawn(process.execPath, [dist('deadman.js'), JSON.stringify({ pid, at, commands })], {
    detached: true,
    stdio: 'ignore',
  })
  child.unref()
  return child.pid
}

/** Signals a helper process we started, only if that pid is still running our script (pids get reused). */
function killIfOurs(pid: number | undefined, script: string): boolean {
  if (pid === undefined) return false
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(script)) return false
    process.kill(pid, 'SIGTERM')
    return true
  } catch {
    return false // already gone
  }
}

/** Resolves once `pid` has exited (its /proc entry is gone or a zombie), or after `limitMs`. */
async function exited(pid: number, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs
  while (Date.now() < until) {
    try {
      if (/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return
    } catch {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
