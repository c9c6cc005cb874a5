export { bearerMatches, isLoopbackHost } from './bearer.js'
export { errorHandler, problemOf, ProblemDetailsSchema, sendProblem, type ProblemDetails } from './problem-details.js'
export {
  assertUrlAllowed,
  loopbackAllow,
  normalizeHost,
  parseAllowList,
  unmapIPv4,
  type AllowList,
} from './allow-list.js'
export {
  allowListLookup,
  assertResolvesAllowed,
  deniedAddress,
  egressRequest,
  isSpecialAddress,
  type EgressOptions,
  type EgressResponse,
} from './egress.js'
export { RequestVerifier, sha256Hex, signatureWindowMs, signedRequestHooks, signRequest } from './signed-request.js'
export { serverTimeouts } from './server-timeouts.js'
export { closeAfterAnswer } from './close-after-answer.js'
