export * from './histogram.js'
export * from './sparse-histogram.js'
