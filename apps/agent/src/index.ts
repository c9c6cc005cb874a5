export { LoadGenerator, type LoadPlan, type LoadRunOptions, type LoadRunResult } from './load/load-generator.js'
export type { ConnectionTarget } from './load/autocannon-connection.js'
export { connectionTargetFor, type HttpTarget } from './load/connection-target.js'
export {
  buildTimeline,
  plannedInWindow,
  intendedOffsetMs,
  replanTimeline,
  type PlannedStep,
  type StepTimeline,
} from './load/schedule.js'
export { runLoadInWorker, startLoadInWorker, type WorkerLoadRun } from './load/worker-load-generator.js'
export { assertTargetAllowed, parseTargetAllowList, targetAllowListFromEnv } from './safety/target-allow-list.js'
export { startAgent, type AgentOptions, type RunningAgent } from './service/agent-service.js'
export { buildAgentApp } from './service/agent-app.js'
export { Assignments, type AssignmentEvents } from './service/assignments.js'
export { FaultEngine, type FaultReport } from './faults/fault-engine.js'
export { localFaultEngine } from './faults/local-fault-engine.js'
export { kernelSupport } from './faults/kernel-probe.js'
export { readMarks, type GauntletMarks } from './faults/namespace-state.js'
export { nsenter } from './faults/netns.js'
