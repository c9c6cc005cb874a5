// `@gauntlet/contracts/plain`: the contracts without their schemas. Types, constants and pure functions whose
// modules import TypeBox at most as types, for code that validates nothing at run time: the load thread,
// which would otherwise load TypeBox's ~200 ES modules (about 90 ms of CPU) for a few comparisons. Each
// schema stays in its own *-schema module, exported by the main entry only; the types derived from the
// ones the load thread handles are re-exported here as types.
export * from './errors.js'
export * from './summary.js'
export * from './window-limits.js'
export * from './window.js'
export type { ErrorCounts, RequestCounts, WindowReport } from './window-schema.js'
export * from './status-list.js'
export * from './schedule.js'
export * from './plan.js'
export type { PlannedStep } from './plan-schema.js'
export * from './lanes.js'
export * from './data-partition.js'
export * from './run-report.js'
export * from './root-cause.js'
export * from './request-template.js'
export * from './tls-failure.js'
export * from './docker-names.js'
