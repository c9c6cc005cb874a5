import { formatMs } from '../../format-values.js'
import type { FaultExplanation, FaultFacts } from './fault-explanation.js'

/**
 * A delay holds every response back: latency rises, and when the delay plus the base latency (the
 * baseline's p50) exceeds the request timeout, requests time out. netem delays every packet the target
 * sends, so a request on a new connection pays it twice (SYN-ACK and response); the proxy delays once.
 */
export function explainDelay({ span, spec, requestTimeoutMs, baseP50Ms }: FaultFacts): FaultExplanation {
  const reason = 'a delay fault holds every response back'
  if (spec?.latencyMs === undefined || requestTimeoutMs === undefined)
    return {
      errors: ['timeout'],
      latency: true,
      reason,
      evidence: [
        "the delay and the request timeout are not in what the run stored (pass the scenario's plan): " +
          'whether the delay alone exceeds the timeout is not checked',
      ],
    }
  const paid = span.mechanism === 'netem' ? 2 : 1
  const base = baseP50Ms ?? 0
  const worst = base + paid * (spec.latencyMs + (spec.jitterMs ?? 0))
  const sum = `delay ${spec.latencyMs}ms${spec.jitterMs ? ` ±${spec.jitterMs}ms` : ''}${paid === 2 ? ' (paid twice on a new connection: netem)' : ''} + base p50 ${formatMs(base)} = up to ${formatMs(worst)}`
  if (worst > requestTimeoutMs)
    return {
      errors: ['timeout'],
      latency: true,
      reason: `${reason}: delay plus base latency exceeds the ${requestTimeoutMs}ms request timeout, so requests time out`,
      evidence: [`${sum}, beyond the ${requestTimeoutMs}ms request timeout`],
    }
  return {
    errors: [],
    latency: true,
    reason: `${reason}: latency rises, but stays within the ${requestTimeoutMs}ms request timeout`,
    evidence: [`${sum}, within the ${requestTimeoutMs}ms request timeout: it explains no timeout`],
  }
}
