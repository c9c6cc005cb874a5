import type { FaultSpec } from '@gauntlet/contracts'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

export interface JournalTarget {
  containerId: string
  name: string
  pid: number
  iface: string
  /** The latency proxy's process, for proxy delay. */
  proxyPid?: number
  /** The detached process that reverts the fault at its end if nobody else does. */
  deadmanPid?: number
}

/** Who keeps a fault alive: a running process, or (detached) only its own deadline. */
export interface FaultOwner {
  pid: number
  /** Applied by a one-shot command: it lives until its end, reverted by its dead man's switch. */
  detached: boolean
}

export type JournalEntry =
  | { op: 'intent'; id: string; spec: FaultSpec; targets: JournalTarget[]; untilEpochMs: number; at: number; owner: FaultOwner }
  | { op: 'helpers'; id: string; containerId: string; proxyPid?: number; deadmanPid?: number }
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
      } else open.delete(entry.id)
    }
    return [...open.values()]
  }

  /** Rewrites the journal with only these faults (recovery's compaction). */
  keepOnly(intents: ReadonlyArray<Extract<JournalEntry, { op: 'intent' }>>): void {
    writeFileSync(this.file, intents.map((intent) => `${JSON.stringify(intent)}\n`).join(''))
  }
}
