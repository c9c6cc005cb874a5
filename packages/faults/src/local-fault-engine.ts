import { homedir } from 'node:os'
import { join } from 'node:path'
import { DockerTargets } from './docker-targets.js'
import type { FaultEngine } from './fault-engine.js'
import { HostInjector } from './host-injector.js'
import { FaultJournal } from './fault-journal.js'
import { nsenter } from './netns.js'

/**
 * The journal is per host, not per run directory: faults act on host-wide things (containers), and
 * recovery must know every live fault on the host to leave them alone. GAUNTLET_FAULT_JOURNAL overrides.
 */
function defaultFaultJournal(): string {
  if (process.env.GAUNTLET_FAULT_JOURNAL) return process.env.GAUNTLET_FAULT_JOURNAL
  return process.getuid?.() === 0 ? '/var/lib/gauntlet/faults.jsonl' : join(homedir(), '.gauntlet', 'faults.jsonl')
}

export interface LocalFaultEngineOptions {
  /** The journal of applied faults (default: per host, see defaultFaultJournal). */
  journalFile?: string
  log?: (line: string) => void
}

/** The fault engine on this host's Docker engine. */
export function localFaultEngine(options: LocalFaultEngineOptions = {}): FaultEngine {
  const { journalFile = defaultFaultJournal(), log } = options
  return new HostInjector({
    containers: new DockerTargets(),
    netns: nsenter,
    journal: new FaultJournal(journalFile),
    ...(log ? { log } : {}),
  })
}
