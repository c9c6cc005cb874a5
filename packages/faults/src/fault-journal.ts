import type { FaultSpec } from '@gauntlet/contracts'
import type { FaultReport } from './fault-engine.js'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { dirname, resolve } from 'node:path'

/** Lock tokens this process holds now: a lock file with this pid and another token is a dead namesake's. */
const ownTokens = new Set<string>()
/** Per journal file, this process's lock holders in turn (it never contends with itself on the file). */
const lockQueues = new Map<string, Promise<unknown>>()

export interface JournalTarget {
  containerId: string
  name: string
  pid: number
  iface: string
  /** The latency proxy's process, for proxy delay. */
  proxyPid?: number
  /** The detached process that reverts the fault at its end if nobody else does. */
  deadmanPid?: number
  /** Holders: set once this target is done with (true: read back clean). */
  settled?: boolean
}

/** Who keeps a fault alive: a running process, or (detached) only its own deadline. */
export interface FaultOwner {
  pid: number
  /** Applied by a one-shot command: it lives until its end, reverted by its dead man's switch. */
  detached: boolean
}

export type JournalEntry =
  | {
      op: 'intent'
      id: string
      spec: FaultSpec
      targets: JournalTarget[]
      untilEpochMs: number
      at: number
      owner: FaultOwner
      /** Held by holder containers (absent: by this host's processes). */
      injector?: 'holder'
      /** Holders: the engine owner (label gauntlet.owner) that holds it; another owner's reconcile leaves it alone. */
      holderOwner?: string
      /** The run it belongs to (a warm holder's label cannot say: it was started before). */
      run?: string
    }
  | { op: 'helpers'; id: string; containerId: string; proxyPid?: number; deadmanPid?: number }
  /** Holders: one target is done with (its holder reported a verified revert, or a cleaner removed its marks). */
  | { op: 'settled'; id: string; containerId: string; verified: boolean; at: number }
  | { op: 'reverted'; id: string; at: number }

/**
 * Write-ahead journal of faults: the intent is on disk (fsynced) before any command runs, so an
 * agent that dies mid-fault finds, when it starts again, what it must undo.
 */
export class FaultJournal {
  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true })
  }

  append(entry: JournalEntry): void {
    const fd = openSync(this.file, 'a')
    try {
      writeSync(fd, `${JSON.stringify(entry)}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }

  /** Faults with an intent and no revert: what a previous process may have left behind. */
  unreverted(): Array<Extract<JournalEntry, { op: 'intent' }>> {
    const open = new Map<string, Extract<JournalEntry, { op: 'intent' }>>()
    let text = ''
    try {
      text = readFileSync(this.file, 'utf8')
    } catch {
      return []
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue
      let entry: JournalEntry
      try {
        entry = JSON.parse(line) as JournalEntry
      } catch {
        continue // a torn last line from a crash mid-write: its fault never started
      }
      if (entry.op === 'intent') open.set(entry.id, entry)
      else if (entry.op === 'helpers') {
        const intent = open.get(entry.id)
        const target = intent?.targets.find((t) => t.containerId === entry.containerId)
        if (target && entry.proxyPid !== undefined) target.proxyPid = entry.proxyPid
        if (target && entry.deadmanPid !== undefined) target.deadmanPid = entry.deadmanPid
      } else if (entry.op === 'settled') {
        const target = open.get(entry.id)?.targets.find((t) => t.containerId === entry.containerId)
        if (target) target.settled = entry.verified
      } else open.delete(entry.id)
    }
    return [...open.values()]
  }

  /**
   * Runs `work` holding the host-wide journal lock, so one process's recovery never sees another's
   * half-applied fault as an orphan. The lock is a file created exclusively; one left by a dead
   * process is taken over. Bounded: after `waitMs` the lock is an error, not a hang.
   */
  withLock<T>(work: () => Promise<T>, waitMs = 30_000): Promise<T> {
    const key = resolve(this.file)
    const turn = (lockQueues.get(key) ?? Promise.resolve()).then(() => this.lockedOnFile(work, waitMs))
    const tail = turn.catch(() => undefined)
    lockQueues.set(key, tail)
    void tail.then(() => {
      if (lockQueues.get(key) === tail) lockQueues.delete(key)
    })
    return turn
  }

  private async lockedOnFile<T>(work: () => Promise<T>, waitMs: number): Promise<T> {
    const lock = `${this.file}.lock`
    const token = randomUUID()
    const until = Date.now() + waitMs
    for (;;) {
      try {
        const fd = openSync(lock, 'wx')
        ownTokens.add(token)
        writeSync(fd, `${process.pid} ${token}`)
        closeSync(fd)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        if (!holderAlive(lock)) {
          try {
            unlinkSync(lock)
          } catch {
            // someone else took it over first
          }
          continue
        }
        if (Date.now() > until) throw new Error(`the fault journal ${this.file} stayed locked for ${waitMs / 1000} s`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    try {
      return await work()
    } finally {
      ownTokens.delete(token)
      try {
        unlinkSync(lock)
      } catch {
        // already gone
      }
    }
  }

  /** Rewrites the journal with only these faults (recovery's compaction). */
  keepOnly(intents: ReadonlyArray<Extract<JournalEntry, { op: 'intent' }>>): void {
    writeFileSync(this.file, intents.map((intent) => `${JSON.stringify(intent)}\n`).join(''))
  }
}

/**
 * The lock's holder still runs (a lock whose holder died is stale). In a container the agent always
 * has the same small pid, so a lock left by a killed container carries this process's own pid: it is
 * stale unless its token is one this process holds.
 */
function holderAlive(lock: string): boolean {
  try {
    const [pidText = '', token = ''] = readFileSync(lock, 'utf8').trim().split(' ')
    const pid = Number(pidText)
    if (!Number.isInteger(pid) || pid <= 0) return false
    if (pid === process.pid) return ownTokens.has(token)
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but is not ours to signal; it is alive. A torn, empty file counts as stale.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export type Intent = Extract<JournalEntry, { op: 'intent' }>

/** A journaled fault as its report, before any revert. */
export function intentReport(intent: Intent, injector: FaultReport['injector']): FaultReport {
  return {
    id: intent.id,
    type: intent.spec.type,
    mechanism: intent.spec.mechanism,
    targets: intent.targets.map((t) => t.name),
    appliedAt: new Date(intent.at).toISOString(),
    untilAt: new Date(intent.untilEpochMs).toISOString(),
    revertedAt: null,
    revertVerified: false,
    notes: [],
    injector,
  }
}
