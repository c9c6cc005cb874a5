import type { FaultExplanation, FaultFacts } from './fault-explanation.js'

/**
 * A reset fault answers the service port with TCP RST: a request on an open connection is reset, and a
 * new connection's SYN meets the RST, which the client sees as refused.
 */
export function explainReset({ spec }: FaultFacts): FaultExplanation {
  return {
    errors: ['reset', 'refused'],
    latency: false,
    reason: 'a reset fault answers with TCP RST: requests are reset, new connections refused',
    evidence: [spec?.port === undefined ? 'on every port of the target' : `on port ${spec.port}`],
  }
}
