import type { FaultExplanation, FaultFacts } from './fault-explanation.js'

/** A partition cuts the target off: new connections are refused or never answered, requests in flight time out. */
export function explainPartition({ spec }: FaultFacts): FaultExplanation {
  return {
    errors: ['refused', 'timeout'],
    latency: false,
    reason: 'a partition cuts the target off: connections are refused or time out',
    evidence: [
      spec?.peers?.length
        ? `cut off from ${spec.peers.join(', ')}`
        : spec
          ? 'cut off from every peer'
          : "the partition's peers are not in what the run stored (pass the scenario's plan)",
    ],
  }
}
