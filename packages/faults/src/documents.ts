/**
 * The pure half of @gauntlet/faults, as its own entry (`@gauntlet/faults/documents`): fault documents
 * into specs, and the bounded wait a run gives its connections to move around a proxy fault. Scenario
 * loading (a worker thread per YAML file) and the run service import this without the Docker client or
 * the fault engine.
 */
export { adhocFault } from './adhoc-fault.js'
export { buildFault, buildFaults, parseBytes, parseRate, type ScheduledFault } from './fault-loader.js'
export { movedOrTimedOut } from './fault-engine.js'
