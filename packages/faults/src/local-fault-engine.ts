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

/** The fault engine on this host's Docker engine. */
export function localFaultEngine(journalFile = defaultFaultJournal(), log?: (line: string) => void): FaultEngine {
  return new HostInjector({
    containers: new DockerTargets(),
    netns: nsenter,
    journal: new FaultJournal(journalFile),
    ...(log ? { log } : {}),
  })
}
