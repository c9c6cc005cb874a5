import type { FaultSpec } from '@gauntlet/contracts'
import type Docker from 'dockerode'
import { readFileSync } from 'node:fs'
import type { FaultReport } from './fault-engine.js'
import { intentReport, type FaultJournal, type Intent } from './fault-journal.js'
import { holderCreateOptions, holderLabels, startHolder } from './holder-container.js'
import type { CleanResult } from './holder-program.js'

export interface ReconcileDeps {
  docker: Docker
  journal: FaultJournal
  /** The Gauntlet image holders (and cleaners) run. */
  image: string
  /** Who this engine is (label gauntlet.owner): the reconcile only touches its own holders. */
  owner: string
  /** Whether a run is still going on (a holder of a run that is over is stopped). */
  isRunLive?: (run: string) => boolean
  log?: (line: string) => void
  /** How long a holder may outlive its end before it is stopped (its own timer fires 300 ms after). */
  graceMs?: number
  /** A fault this process is applying right now (its holders may not exist yet). */
  busy?: (id: string) => boolean
  /** A fault was reverted by the reconcile (its report), for the engine that applied it. */
  settled?: (id: string, report: FaultReport) => void
}

export const reconcileIntervalMs = 5_000
const defaultGraceMs = 5_000
/** A cleaner is node starting and three reads; far less than this. */
const cleanerDeadlineMs = 20_000

/**
 * The reconcile loop: the engine's containers are the truth. Each round (1) stops our holders past
 * their end + grace or of a run that is over (they revert on SIGTERM), and (2) for each journaled
 * holder fault, any target whose holder is gone without a verified revert gets a one-shot cleaner in
 * its namespace; a fault whose targets are all done is journaled as reverted.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined
  private round: Promise<string[]> | undefined
  private again: Promise<string[]> | undefined

  constructor(private readonly deps: ReconcileDeps) {}

  start(intervalMs = reconcileIntervalMs): void {
    if (this.timer) return
    const tick = (): void => {
      void this.once()
        .catch((error: unknown) => this.deps.log?.(`fault reconcile: ${(error as Error).message}`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs).unref()
        })
    }
    this.timer = setTimeout(tick, 0).unref()
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** One round (rounds never overlap). Returns the containers whose namespaces it cleaned. */
  once(): Promise<string[]> {
    // A round under way may have listed the holders before the change that asks for this one: one more after it.
    if (this.round) {
      this.again ??= this.round
        .catch(() => [])
        .then(() => {
          this.again = undefined
          return this.once()
        })
      return this.again
    }
    this.round = this.deps.journal.withLock(() => this.roundLocked()).finally(() => (this.round = undefined))
    return this.round
  }

  private async roundLocked(): Promise<string[]> {
    const holders = await this.deps.docker.listContainers({
      all: true,
      filters: { label: [`${holderLabels.owner}=${this.deps.owner}`, `${holderLabels.role}=hold`] },
    })
    const own = this.deps.journal.unreverted().filter((i) => i.holderOwner === this.deps.owner)
    await this.stopOverdue(holders, new Map(own.map((i) => [i.id, i])))
    const cleaned: string[] = []
    const alive = new Set(
      holders.filter((h) => h.State === 'running' || h.State === 'created').map((h) => holderKey(h.Labels)),
    )
    for (const intent of this.deps.journal.unreverted()) {
      // Another engine sharing this journal (another owner, or the host injector: no owner) keeps its own faults.
      if (intent.injector !== 'holder' || intent.holderOwner !== this.deps.owner) continue
      if (this.deps.busy?.(intent.id)) continue
      // Another process is still creating its holders: its intent is newer than its first holder.
      if (ownerApplying(intent)) continue
      // A target whose read-back failed is still open: its cleaner is retried each round.
      const open = intent.targets.filter((t) => t.settled !== true)
      const notes: string[] = []
      for (const target of open) {
        if (alive.has(`${intent.id}/${target.containerId}`)) continue
        const result = await cleanTarget(this.deps, intent.spec, target.containerId)
        this.deps.journal.append({
          op: 'settled',
          id: intent.id,
          containerId: target.containerId,
          verified: result.verified,
          at: Date.now(),
        })
        target.settled = result.verified
        notes.push(`${target.name}: ${result.note}`)
        if (result.removed) cleaned.push(target.name)
      }
      // Reverted only once every target read back clean (or went, taking its namespace along).
      if (intent.targets.some((t) => t.settled !== true)) continue
      this.deps.journal.append({ op: 'reverted', id: intent.id, at: Date.now() })
      this.deps.settled?.(intent.id, {
        ...intentReport(intent, 'holder'),
        revertedAt: new Date().toISOString(),
        revertVerified: true,
        notes: [...notes, 'reverted: its holder was gone (reconcile)'],
      })
    }
    if (cleaned.length > 0)
      this.deps.log?.(`fault reconcile: removed faults left by dead holders in ${cleaned.join(', ')}`)
    return cleaned
  }

  /** Holders past their end (+ grace), or of a run that is over: SIGTERM (they revert and exit). */
  private async stopOverdue(holders: Docker.ContainerInfo[], intents: Map<string, Intent>): Promise<void> {
    const grace = this.deps.graceMs ?? defaultGraceMs
    for (const h of holders) {
      if (h.State !== 'running') continue
      const intent = intents.get(h.Labels[holderLabels.fault] ?? '')
      // A warm holder's label is its latest possible end (standby + duration); the journal has the real one.
      const until = Math.min(
        ...[Number(h.Labels[holderLabels.until]), intent?.untilEpochMs ?? NaN].filter((n) => Number.isFinite(n)),
      )
      const run = h.Labels[holderLabels.run] || intent?.run || ''
      const overdue = Number.isFinite(until) && Date.now() > until + grace
      const runOver = run !== '' && this.deps.isRunLive !== undefined && !this.deps.isRunLive(run)
      if (!overdue && !runOver) continue
      this.deps.log?.(
        `fault reconcile: stopping the holder of fault ${h.Labels[holderLabels.fault]} (${overdue ? 'past its end' : `run ${run} is over`})`,
      )
      // Still running well past that: it does not answer SIGTERM, so it goes (and the cleaner follows).
      const signal = overdue && Date.now() > until + grace + 30_000 ? 'SIGKILL' : 'SIGTERM'
      await this.deps.docker
        .getContainer(h.Id)
        .kill({ signal })
        .catch(() => undefined)
    }
  }
}

const holderKey = (labels: Record<string, string>): string =>
  `${labels[holderLabels.fault] ?? ''}/${labels[holderLabels.target] ?? ''}`

/** The intent's owner is another live Gauntlet process on this host that may still be starting holders. */
function ownerApplying(intent: Intent): boolean {
  if (intent.owner.pid === process.pid || Date.now() - intent.at > 60_000) return false
  try {
    return readFileSync(`/proc/${intent.owner.pid}/cmdline`, 'utf8').includes('gauntlet')
  } catch {
    return false
  }
}

/**
 * A one-shot cleaner holder (`gauntlet fault clean <id>`) in the target's namespace: removes the
 * fault's marks and reads back. A target that no longer runs took its namespace (and the fault) along.
 */
export async function cleanTarget(
  deps: Pick<ReconcileDeps, 'docker' | 'image' | 'owner'>,
  spec: FaultSpec,
  targetId: string,
): Promise<{ verified: boolean; removed: boolean; note: string }> {
  const info = await deps.docker
    .getContainer(targetId)
    .inspect()
    .catch(() => undefined)
  if (!info?.State.Running) return { verified: true, removed: false, note: 'gone: its namespace went with it' }
  const qdisc = spec.mechanism === 'netem' || spec.mechanism === 'tbf'
  const cleaner = await startHolder(
    deps.docker,
    holderCreateOptions({
      image: deps.image,
      target: targetId,
      cmd: ['fault', 'clean', spec.id, ...(qdisc ? ['--qdisc'] : [])],
      labels: {
        [holderLabels.fault]: spec.id,
        [holderLabels.owner]: deps.owner,
        [holderLabels.target]: targetId,
        [holderLabels.role]: 'clean',
      },
    }),
  )
  const code = await Promise.race([
    cleaner.exited,
    new Promise<number>((resolve) => setTimeout(() => resolve(-2), cleanerDeadlineMs).unref()),
  ])
  if (code === -2) await cleaner.signal('SIGKILL')
  const line = cleaner
    .output()
    .split('\n')
    .find((l) => l.startsWith('{'))
  const result = line ? (JSON.parse(line) as CleanResult) : undefined
  if (!result)
    return { verified: false, removed: false, note: `the cleaner failed (exit ${code}): ${cleaner.output()}` }
  const removed = result.removed.rules.length + result.removed.chains.length + result.removed.qdiscs.length > 0
  return {
    verified: result.verified,
    removed,
    note: result.verified
      ? `${removed ? 'its marks were removed by a cleaner' : 'a cleaner found nothing left'}, read back clean`
      : `a cleaner could not remove ${JSON.stringify(result.left)}`,
  }
}
