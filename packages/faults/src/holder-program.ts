/**
 * What runs INSIDE a holder container (`gauntlet fault hold|probe|clean`). The holder shares its
 * target's network namespace (network mode container:<target>), so plain tc and iptables act on the
 * target; it needs no nsenter, no host pid namespace and no bind mount, only NET_ADMIN.
 *
 * `hold` speaks NDJSON on stdout, one event a line, for the HolderInjector that attached to it:
 *   {"event":"applied","iface":...}       the fault is in place and read back
 *   {"event":"draining"}                  proxy delay: new connections bypass the proxy; send SIGUSR1
 *                                         once the client moved its own connections off (or wait ~1 s)
 *   {"event":"reverted","verified":bool,"notes":[...]}
 *   {"event":"error","message":...}       apply failed (a reverted event follows)
 * It reverts at the fault's end by its own timer (the backstop when nobody asks) and on SIGTERM, reads
 * the namespace back, and exits 0 only when the namespace shows nothing of the fault.
 */
import { FaultSpecSchema, GauntletError, type FaultSpec } from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import { setTimeout as delay } from 'node:timers/promises'
import { backstopAt } from './fault-engine.js'
import { planFault, qdiscHandle, type FaultPlan } from './fault-plan.js'
import { probeThisNamespace } from './kernel-probe.js'
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js'
import { interfaceOf, isClean, marksOf, readMarks, removeMarks, type GauntletMarks } from './namespace-state.js'
import { mustRun, ownNamespace } from './netns.js'

/** What `gauntlet fault hold` is given: the decided spec, its end, and the target's address (to find the interface). */
export interface HoldPlan {
  spec: FaultSpec
  untilEpochMs: number
  ip: string
}

export type HolderEvent =
  | { event: 'applied'; iface: string; proxyPort?: number; at: number }
  | { event: 'draining' }
  | { event: 'reverted'; verified: boolean; notes: string[] }
  | { event: 'error'; message: string }

/** How long a warm holder waits for its plan before it ends (the injector then starts a cold one). */
export const standbyLimitMs = 15 * 60_000
/** Proxy delay: how long the holder waits for SIGUSR1 after announcing the drain. */
const drainAckMs = 1_000
const maxTimerMs = 2 ** 31 - 1
/** The farthest end a hold plan may name: the longest fault (24 h) plus a margin for clocks and start-up. */
const maxHoldAheadMs = 24 * 3_600_000 + 5 * 60_000
const netns = ownNamespace
const here = 0 // ownNamespace ignores the pid

export function parseHoldPlan(json: string): HoldPlan {
  let plan: Partial<HoldPlan>
  try {
    plan = JSON.parse(json) as Partial<HoldPlan>
  } catch (error) {
    throw new GauntletError('usage', `fault hold: the plan is not JSON: ${(error as Error).message}`)
  }
  if (typeof plan?.spec !== 'object' || typeof plan.untilEpochMs !== 'number' || typeof plan.ip !== 'string')
    throw new GauntletError('usage', 'fault hold: the plan needs {"spec":{...},"untilEpochMs":<ms>,"ip":"<address>"}')
  // Checked here, before the holder touches the namespace: the plan is all it is told.
  if (!Value.Check(FaultSpecSchema, plan.spec)) {
    const first = Value.Errors(FaultSpecSchema, plan.spec).First()
    throw new GauntletError('usage', `fault hold: the plan's spec is invalid: ${first?.path || '/'} ${first?.message}`)
  }
  if (!Number.isFinite(plan.untilEpochMs) || plan.untilEpochMs > Date.now() + maxHoldAheadMs)
    throw new GauntletError(
      'usage',
      `fault hold: untilEpochMs ${plan.untilEpochMs} is more than ${maxHoldAheadMs / 60_000} min ahead (a fault lasts at most 24 h)`,
    )
  return plan as HoldPlan
}

/**
 * A warm holder (`gauntlet fault hold -`), started when a fault is prepared: it has joined the namespace
 * and loaded, and waits for its plan, one JSON line on stdin, so that applying it later takes a moment
 * instead of a container start. Undefined when stdin closes first (its injector is gone), SIGTERM comes,
 * or `limitMs` passes: nothing was applied.
 */
export function planFromStdin(limitMs: number): Promise<HoldPlan | undefined> {
  return new Promise((resolve, reject) => {
    let text = ''
    const done = (plan: HoldPlan | undefined, error?: Error): void => {
      clearTimeout(timer)
      process.stdin.off('data', onData).off('end', onEnd)
      process.off('SIGTERM', onEnd)
      process.stdin.pause()
      process.stdin.unref?.()
      if (error) reject(error)
      else resolve(plan)
    }
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8')
      const newline = text.indexOf('\n')
      if (newline < 0) return
      try {
        done(parseHoldPlan(text.slice(0, newline)))
      } catch (error) {
        done(undefined, error as Error)
      }
    }
    const onEnd = (): void => done(undefined)
    const timer = setTimeout(onEnd, limitMs)
    process.stdin.on('data', onData).on('end', onEnd)
    process.once('SIGTERM', onEnd)
  })
}

/** Holds one fault in this namespace until its end or SIGTERM; returns the exit code. */
export async function holdFault(plan: HoldPlan, emit: (event: HolderEvent) => void): Promise<number> {
  const holding = new Holding(plan, emit)
  let stop!: (reason: string) => void
  const stopped = new Promise<string>((resolve) => (stop = resolve))
  const onTerm = (): void => stop('SIGTERM')
  const onUsr1 = (): void => holding.drainAcknowledged()
  process.on('SIGTERM', onTerm).on('SIGINT', onTerm).on('SIGUSR1', onUsr1)
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    // The holder's timer is a backstop: proxy delay leaves an alive injector the first move.
    const left = backstopAt(plan.spec, plan.untilEpochMs) - Date.now()
    if (left <= 0) stop('duration ended')
    else timer = setTimeout(arm, Math.min(left, maxTimerMs))
  }
  arm()
  let applied = false
  try {
    await holding.apply()
    applied = true
  } catch (error) {
    emit({ event: 'error', message: (error as Error).message })
    stop('apply failed')
  }
  const reason = await stopped
  clearTimeout(timer)
  const verified = await holding.revert(reason)
  process.off('SIGTERM', onTerm).off('SIGINT', onTerm).off('SIGUSR1', onUsr1)
  return applied && verified ? 0 : 1
}

class Holding {
  private plan: FaultPlan | undefined
  private iface = ''
  private proxy: LatencyProxy | undefined
  private ack: (() => void) | undefined

  constructor(
    private readonly hold: HoldPlan,
    private readonly emit: (event: HolderEvent) => void,
  ) {}

  drainAcknowledged(): void {
    this.ack?.()
  }

  async apply(): Promise<void> {
    const { spec, untilEpochMs, ip } = this.hold
    this.iface = await interfaceOf(netns, here, ip).catch((error: Error) => {
      throw new GauntletError('fault_failed', `cannot find the interface carrying ${ip}: ${error.message}`)
    })
    if (spec.mechanism === 'netem' || spec.mechanism === 'tbf') await this.refuseForeignQdisc()
    if (spec.mechanism === 'proxy') {
      // In-process, listening before the redirect exists; port 0, so the plan names the port it got.
      this.proxy = await startLatencyProxy({
        listenHost: '0.0.0.0',
        listenPort: 0,
        upstreamHost: ip,
        upstreamPort: spec.port ?? 0,
        latencyMs: spec.latencyMs ?? 0,
        jitterMs: spec.jitterMs ?? 0,
      })
    }
    this.plan = planFault(spec, {
      iface: this.iface,
      untilEpochMs,
      ...(this.proxy ? { proxyPort: this.proxy.port } : {}),
    })
    for (const command of this.plan.apply) await mustRun(netns, here, command)
    const marks = await this.marks()
    if ((this.plan.marks.qdisc && marks.qdiscs.length === 0) || (this.plan.marks.rules && marks.rules.length === 0))
      throw new GauntletError('fault_failed', `the commands succeeded but the namespace does not show fault ${spec.id}`)
    this.emit({
      event: 'applied',
      iface: this.iface,
      at: Date.now(),
      ...(this.proxy ? { proxyPort: this.proxy.port } : {}),
    })
  }

  /** Undoes the plan (draining the proxy first), reads back, removes what is left by its marks; true when clean. */
  async revert(reason: string): Promise<boolean> {
    const notes: string[] = []
    if (this.plan?.drain && this.proxy) {
      for (const command of this.plan.drain) await netns.run(here, command)
      const acknowledged = new Promise<void>((resolve) => (this.ack = resolve))
      this.emit({ event: 'draining' })
      const acked = await Promise.race([acknowledged.then(() => true), delay(drainAckMs).then(() => false)])
      // Unacknowledged, the client had its second already; acknowledged, it gets the proxy's usual grace.
      await this.proxy.drain(250, 5_000, acked ? 1_000 : 0)
    }
    for (const command of this.plan?.revert ?? []) await netns.run(here, command).catch(() => undefined)
    let left = await this.marks()
    if (!isClean(left)) {
      await removeMarks(netns, here, left, this.qdiscIsOurs())
      left = await this.marks()
    }
    await this.proxy?.close()
    const verified = isClean(left)
    if (!verified) notes.push(`still shows ${JSON.stringify(left)} after revert`)
    notes.push(`reverted: ${reason}`)
    this.emit({ event: 'reverted', verified, notes })
    return verified
  }

  /** This fault's marks: its rules and chains, and our root qdisc on its interface if the fault put one there. */
  private async marks(): Promise<GauntletMarks> {
    const marks = marksOf(await readMarks(netns, here), this.hold.spec.id)
    return { ...marks, qdiscs: this.qdiscIsOurs() ? marks.qdiscs.filter((i) => i === this.iface) : [] }
  }

  private qdiscIsOurs(): boolean {
    return this.plan?.marks.qdisc === true
  }

  /** Never replace a root qdisc the platform set up (only the kernel's default, handle 0:, or none). */
  private async refuseForeignQdisc(): Promise<void> {
    const root = (await mustRun(netns, here, ['tc', 'qdisc', 'show', 'dev', this.iface, 'root'])).trim()
    const handle = /^qdisc \S+ (\S+) root/.exec(root)?.[1]
    if (handle === qdiscHandle)
      throw new GauntletError(
        'conflict',
        `${this.iface} already carries a Gauntlet qdisc fault; one delay, loss or bandwidth fault per interface at a time`,
      )
    if (handle && handle !== '0:')
      throw new GauntletError(
        'fault_failed',
        `${this.iface} already has a root qdisc Gauntlet did not create (${root}); refusing to replace it`,
      )
  }
}

/** `gauntlet fault probe`: what this kernel can do, probed in this (throwaway) namespace. */
export async function probeHere(): Promise<string> {
  return JSON.stringify(await probeThisNamespace())
}

export interface CleanResult {
  fault: string
  removed: GauntletMarks
  left: GauntletMarks
  verified: boolean
}

/**
 * `gauntlet fault clean <id> [--qdisc]`: removes one fault's marks from this namespace and reads back.
 * With `qdiscToo` our root qdisc goes as well (the fault was a qdisc fault: one per interface, so the
 * qdisc is its own).
 */
export async function cleanFault(id: string, qdiscToo: boolean): Promise<CleanResult> {
  const found = marksOf(await readMarks(netns, here), id)
  const removed = { ...found, qdiscs: qdiscToo ? found.qdiscs : [] }
  if (!isClean(removed)) await removeMarks(netns, here, removed, qdiscToo)
  const after = marksOf(await readMarks(netns, here), id)
  const left = { ...after, qdiscs: qdiscToo ? after.qdiscs : [] }
  return { fault: id, removed, left, verified: isClean(left) }
}
