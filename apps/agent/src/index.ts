export { LoadGenerator, type LoadPlan, type LoadRunOptions, type LoadRunResult } from './load/load-generator.js'
export type { ConnectionTarget } from './load/autocannon-connection.js'
export { connectionTargetFor, type HttpTarget } from './load/connection-target.js'
export { runLoadInWorker, startLoadInWorker, type WorkerLoadRun } from './load/worker-load-generator.js'
export { assertTargetAllowed, parseTargetAllowList, targetAllowListFromEnv } from './safety/target-allow-list.js'
export { startAgent, type AgentOptions, type DockerAccess, type RunningAgent } from './service/agent-service.js'
export { buildAgentApp } from './service/agent-app.js'
export { Assignments, type AssignmentEvents } from './service/assignments.js'
export { AgentFaults, bypassWaitMs, inventoryRefreshMs, type EngineView } from './faults/agent-faults.js'
export {
  agentFaultEngine,
  injectorChoices,
  type AgentEngineOptions,
  type InjectorChoice,
} from './faults/fault-engine-options.js'
