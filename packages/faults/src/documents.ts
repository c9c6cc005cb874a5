/**
 * The pure half of @gauntlet/faults, as its own entry (`@gauntlet/faults/documents`): fault documents
 * into specs. Scenario loading (a worker thread per YAML file) imports this without the Docker client.
 */
export { adhocFault } from './adhoc-fault.js'
export { buildFault, buildFaults, parseBytes, parseRate, type ScheduledFault } from './fault-loader.js'
