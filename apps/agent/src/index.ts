export { LoadGenerator, type LoadPlan, type LoadRunOptions, type LoadRunResult } from './load/load-generator.js'
export type { ConnectionTarget } from './load/autocannon-connection.js'
export { buildTimeline, plannedInWindow, intendedOffsetMs, type PlannedStep, type StepTimeline } from './load/schedule.js'
export { runLoadInWorker } from './load/worker-load-generator.js'
