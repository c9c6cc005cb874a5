import type { FaultSpec } from '@gauntlet/contracts'
import type { FaultTypeUnit } from './fault-type.js'
import { only, qdiscPlan } from './plan-parts.js'
import { parseBytes, parseRate } from './quantities.js'

/** Bandwidth: a tbf qdisc, under an htb root when scoped to a port or peer. */
export const bandwidth: FaultTypeUnit = {
  type: 'bandwidth',
  params: ['rate', 'burst', 'limit', 'port', 'peer'],
  required: 'rate',
  mechanisms: ['tbf'],

  build(doc, problem) {
    const rateBitsPerS = doc.rate === undefined ? undefined : parseRate(doc.rate)
    const burstBytes = doc.burst === undefined ? undefined : parseBytes(doc.burst)
    const limitBytes = doc.limit === undefined ? undefined : parseBytes(doc.limit)
    if (rateBitsPerS !== undefined && (rateBitsPerS < 8_000 || rateBitsPerS > 100e9))
      problem('rate', 'between 8kbit and 100gbit')
    // tc refuses a zero bucket or queue, and only when applying: mid-run.
    if (burstBytes !== undefined && burstBytes < 1)
      problem('burst', 'a bucket of at least one byte (a full frame, 1514, or more in practice)')
    if (limitBytes !== undefined && limitBytes < 1) problem('limit', 'a queue of at least one byte')
    return {
      mechanism: 'tbf',
      ...(rateBitsPerS !== undefined ? { rateBitsPerS } : {}),
      ...(burstBytes !== undefined ? { burstBytes } : {}),
      ...(limitBytes !== undefined ? { limitBytes } : {}),
    }
  },

  decide: only('tbf'),

  needs(spec) {
    return { qdiscs: spec.port !== undefined || spec.peer !== undefined ? ['tbf', 'htb'] : ['tbf'] }
  },

  plan(spec, ctx) {
    return qdiscPlan(spec, ctx, tbfArgs(spec))
  },
}

/** tbf: rate, a bucket that holds at least one full frame, and a queue (bytes) or 200 ms of latency. */
export function tbfArgs(spec: FaultSpec): string[] {
  const rate = spec.rateBitsPerS ?? 1
  const burst = spec.burstBytes ?? Math.max(3200, Math.ceil(rate / 8 / 100))
  return [
    'tbf',
    'rate',
    `${rate}bit`,
    'burst',
    String(burst),
    ...(spec.limitBytes ? ['limit', String(spec.limitBytes)] : ['latency', '200ms']),
  ]
}
