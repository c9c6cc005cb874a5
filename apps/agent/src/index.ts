export { LoadGenerator, type LoadPlan, type LoadRunOptions, type LoadRunResult } from './load/load-generator.js'
export type { ConnectionTarget } from './load/autocannon-connection.js'
export { connectionTargetFor, type HttpTarget } from './load/connection-target.js'
export { runLoadInWorker, startLoadInWorker, type WorkerLoadRun } from './load/worker-load-generator.js'
export {
  assertHostAllowed,
  assertTargetAllowed,
  assertTargetResolvesAllowed,
  defaultTargetAllow,
  parseTargetAllowList,
  targetAllowListFromEnv,
  type TargetAllowList,
} from './safety/target-allow-list.js'
export { startAgent, type AgentOptions, type RunningAgent } from './service/agent-service.js'
export { buildAgentApp } from './service/agent-app.js'
export { Assignments, type AssignmentEvents } from './service/assignments.js'
export { FaultEngine, type FaultReport, type ContainerFinder } from './faults/fault-engine.js'
export { defaultFaultJournal, localFaultEngine } from './faults/local-fault-engine.js'
export { kernelSupport, type KernelSupport } from './faults/kernel-probe.js'
export { DockerTargets, type TargetContainer } from './faults/docker-targets.js'
export { planFault, type FaultPlan } from './faults/fault-plan.js'
export { readMarks, isClean, type GauntletMarks } from './faults/namespace-state.js'
export { nsenter, type Netns } from './faults/netns.js'
