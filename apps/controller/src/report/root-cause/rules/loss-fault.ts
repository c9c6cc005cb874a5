import type { FaultExplanation, FaultFacts } from './fault-explanation.js'

/**
 * Packet loss makes TCP retransmit (latency rises by its backoff, 200 ms and up), connections that lose
 * too much are reset, and requests whose retransmits outlast the timeout time out.
 */
export function explainLoss({ spec }: FaultFacts): FaultExplanation {
  return {
    errors: ['reset', 'timeout'],
    latency: true,
    reason: 'packet loss makes TCP retransmit: requests slow down, time out or have their connection reset',
    evidence: [
      spec?.percent === undefined
        ? "the loss percentage is not in what the run stored (pass the scenario's plan)"
        : `${spec.percent}% of packets dropped${spec.correlation ? ` (correlation ${spec.correlation}%)` : ''}`,
    ],
  }
}
