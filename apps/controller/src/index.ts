// The controller as a library: what `gauntlet` itself is built from, for embedding in other tools.
export { main } from './cli/main.js'
export { buildApp, type AppDeps } from './http/app.js'
export { RunManager, type RunEvent } from './run/run-manager.js'
export { executeRun, type RunDependencies, type RunRequest } from './run/run-service.js'
export { Scheduler } from './schedule/scheduler.js'
export { loadScenarioFile, parseScenario } from './scenario/load-scenario.js'
export type { Scenario } from './scenario/scenario.js'
export { SqliteStore } from './storage/sqlite-store.js'
