import { join } from 'node:path'
import { DockerTargets } from './docker-targets.js'
import { FaultEngine } from './fault-engine.js'
import { FaultJournal } from './fault-journal.js'
import { nsenter } from './netns.js'

/** The fault engine on this host's Docker engine, journaling under `stateDir`. */
export function localFaultEngine(stateDir: string, log?: (line: string) => void): FaultEngine {
  return new FaultEngine({ containers: new DockerTargets(), netns: nsenter, journal: new FaultJournal(join(stateDir, 'faults.jsonl')), ...(log ? { log } : {}) })
}
