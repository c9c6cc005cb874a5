import { addErrorCounts, emptyErrorCounts, type RequestCounts, type WindowReport } from '@gauntlet/contracts'
import { encodeHistogram, mergeEncoded, type Histogram } from '@gauntlet/metrics'

/** What windows of the same second add up to, whoever sent them (an agent's threads, or the agents). */
export type WindowSum = Pick<
  WindowReport,
  | 'sent'
  | 'dispatched'
  | 'dropped'
  | 'ok'
  | 'errors'
  | 'latency'
  | 'lateSends'
  | 'maxSendLagMs'
  | 'generatorLimited'
  | 'openConnections'
  | 'tlsFailure'
  | 'requests'
>

/**
 * The windows of one second as one: counters add up, histograms merge (percentiles are never averaged),
 * the send lag is the worst one, and the second is generator-limited when any sender was (its own
 * queueing is in its latencies, whoever else kept up). The first TLS failure reason is kept. The agent
 * merges its threads' windows with it, and the controller its agents' windows, so both add up alike.
 * `mergedLatency`: the parts' histograms already merged (the controller merges them as they arrive);
 * the encoded result is the same either way.
 */
export function sumWindows(parts: readonly WindowReport[], mergedLatency?: Histogram): WindowSum {
  const errors = emptyErrorCounts()
  const sum: WindowSum = {
    sent: 0,
    dispatched: 0,
    dropped: 0,
    ok: 0,
    errors,
    latency: encodeHistogram(mergedLatency ?? mergeEncoded(parts.map((p) => p.latency))),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    openConnections: 0,
  }
  for (const part of parts) {
    sum.sent += part.sent
    sum.dispatched += part.dispatched
    sum.dropped += part.dropped
    sum.ok += part.ok
    sum.lateSends += part.lateSends
    sum.maxSendLagMs = Math.max(sum.maxSendLagMs, part.maxSendLagMs)
    sum.generatorLimited ||= part.generatorLimited
    sum.openConnections += part.openConnections
    addErrorCounts(errors, part.errors)
    if (sum.tlsFailure === undefined && part.tlsFailure !== undefined) sum.tlsFailure = part.tlsFailure
  }
  const requests = sumRequests(parts)
  return requests ? { ...sum, requests } : sum
}

/** A mix's per-request counts, by name across the windows (each summed as the window is). */
function sumRequests(parts: readonly WindowReport[]): Record<string, RequestCounts> | undefined {
  const byName = new Map<string, RequestCounts[]>()
  for (const part of parts)
    for (const [name, counts] of Object.entries(part.requests ?? {})) {
      const list = byName.get(name)
      if (list) list.push(counts)
      else byName.set(name, [counts])
    }
  if (byName.size === 0) return undefined
  const summed: Record<string, RequestCounts> = {}
  for (const [name, list] of byName) {
    const errors = emptyErrorCounts()
    for (const counts of list) addErrorCounts(errors, counts.errors)
    summed[name] = {
      dispatched: list.reduce((n, c) => n + c.dispatched, 0),
      ok: list.reduce((n, c) => n + c.ok, 0),
      errors,
      latency: list.length === 1 ? list[0]!.latency : encodeHistogram(mergeEncoded(list.map((c) => c.latency))),
    }
  }
  return summed
}
