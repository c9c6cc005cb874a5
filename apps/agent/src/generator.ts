// Starting the load generator on its own thread, and the target rules, without the agent's HTTP service or
// fault engine: what the embedded `gauntlet run` needs (`@gauntlet/agent/generator`). Its thread loads the
// generator itself (autocannon); this side loads neither that nor fastify nor dockerode.
export type { LoadPlan, LoadRunOptions, LoadRunResult } from './load/load-generator.js'
export type { ConnectionTarget } from './load/autocannon-connection.js'
export { connectionTargetFor, type HttpTarget } from './load/connection-target.js'
export { requestPlanOf } from './load/plan-from-wire.js'
export { responseExpectationFor, type ExpectedResponse, type ResponseExpectation } from './load/response-expectation.js'
export { runLoadInWorker, startLoadInWorker, type WorkerLoadRun } from './load/worker-load-generator.js'
export { startLoadInWorkers } from './load/multi-worker-load.js'
export { defaultWorkers, maxWorkers } from './load/thread-plans.js'
export { sumWindows, type WindowSum } from './load/window-sum.js'
export { assertTargetAllowed, parseTargetAllowList, targetAllowListFromEnv } from './safety/target-allow-list.js'
