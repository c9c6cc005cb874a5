export * from './errors.js'
export * from './scenario-schema.js'
export * from './summary.js'
export * from './window.js'
