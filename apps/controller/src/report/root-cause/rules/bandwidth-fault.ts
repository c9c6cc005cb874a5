import type { FaultExplanation, FaultFacts } from './fault-explanation.js'

/**
 * A bandwidth cap (tbf) makes a response take at least its size over the rate: latency grows with the
 * response size, and large responses time out once size / rate passes the request timeout.
 */
export function explainBandwidth({ spec, requestTimeoutMs }: FaultFacts): FaultExplanation {
  const reason = 'a bandwidth cap makes each response take its size over the rate: latency grows with response size'
  const rate = spec?.rateBitsPerS
  if (rate === undefined)
    return {
      errors: ['timeout'],
      latency: true,
      reason,
      evidence: ["the cap's rate is not in what the run stored (pass the scenario's plan)"],
    }
  const msPer100kB = Math.round(((100_000 * 8) / rate) * 1000 * 10) / 10
  const timeoutBytes = requestTimeoutMs === undefined ? undefined : Math.floor(((requestTimeoutMs / 1000) * rate) / 8)
  return {
    errors: ['timeout'],
    latency: true,
    reason,
    evidence: [
      `rate ${formatRate(rate)}: every 100 kB of response takes at least ${msPer100kB}ms`,
      ...(timeoutBytes === undefined
        ? []
        : [
            `a response over ${Math.round(timeoutBytes / 1000)} kB cannot arrive within the ${requestTimeoutMs}ms request timeout`,
          ]),
    ],
  }
}

function formatRate(bitsPerS: number): string {
  if (bitsPerS >= 1e9) return `${bitsPerS / 1e9} gbit/s`
  if (bitsPerS >= 1e6) return `${bitsPerS / 1e6} mbit/s`
  if (bitsPerS >= 1e3) return `${bitsPerS / 1e3} kbit/s`
  return `${bitsPerS} bit/s`
}
