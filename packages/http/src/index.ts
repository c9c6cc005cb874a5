export { bearerHeaders, bearerMatches, isLoopbackHost } from './bearer.js'
export { errorHandler, problemOf, sendProblem, type ProblemDetails } from './problem-details.js'
