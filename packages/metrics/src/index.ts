export * from './histogram.js'
