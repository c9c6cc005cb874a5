import { addErrorCounts, emptyErrorCounts, type RequestCounts, type WindowReport } from '@gauntlet/contracts'
import { encodeHistogram, mergeEncoded, type Histogram } from '@gauntlet/metrics'

export interface MergeFrame {
  index: number
  step: number
  /** Planned sends of every agent that had a share of this second, delivered or not. */
  planned: number
  /** Start of this second on the controller's clock, used when no agent delivered it. */
  startedAt: number
  /**
   * The parts' latency histograms already merged (as they arrived, see DistributedRun); absent, they are
   * decoded and merged here. Either way the encoded result is the same.
   */
  latency?: Histogram
}

/**
 * One window from the agents' windows of the same second: counters add up, histograms merge
 * (percentiles are never averaged). `complete` speaks for the windows that arrived; an agent that owed
 * this second and was lost is listed in `missingAgents` (its planned sends stay in `planned`, so the
 * shortfall shows), and the run is marked degraded.
 */
export function mergeWindows(
  frame: MergeFrame,
  parts: readonly WindowReport[],
  missingAgents: readonly string[],
): WindowReport {
  const errors = emptyErrorCounts()
  const merged: WindowReport = {
    index: frame.index,
    step: frame.step,
    startedAt: parts.length > 0 ? Math.min(...parts.map((p) => p.startedAt)) : frame.startedAt,
    planned: frame.planned,
    sent: 0,
    dispatched: 0,
    dropped: 0,
    ok: 0,
    errors,
    latency: encodeHistogram(frame.latency ?? mergeEncoded(parts.map((p) => p.latency))),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: parts.length > 0 && parts.every((p) => p.complete),
    openConnections: 0,
    agents: parts.length,
    skewMs:
      parts.length > 0 ? Math.max(...parts.map((p) => p.startedAt)) - Math.min(...parts.map((p) => p.startedAt)) : 0,
    ...(missingAgents.length > 0 ? { missingAgents: [...missingAgents] } : {}),
  }
  for (const part of parts) {
    merged.sent += part.sent
    merged.dispatched += part.dispatched
    merged.dropped += part.dropped
    merged.ok += part.ok
    merged.lateSends += part.lateSends
    merged.maxSendLagMs = Math.max(merged.maxSendLagMs, part.maxSendLagMs)
    merged.generatorLimited ||= part.generatorLimited
    merged.openConnections += part.openConnections
    addErrorCounts(errors, part.errors)
    if (merged.tlsFailure === undefined && part.tlsFailure !== undefined) merged.tlsFailure = part.tlsFailure
  }
  const requests = mergeRequests(parts)
  return requests ? { ...merged, requests } : merged
}

/** A mix's per-request counts, by name across the agents' windows (each merged as the window is). */
function mergeRequests(parts: readonly WindowReport[]): Record<string, RequestCounts> | undefined {
  const byName = new Map<string, RequestCounts[]>()
  for (const part of parts)
    for (const [name, counts] of Object.entries(part.requests ?? {})) {
      const list = byName.get(name)
      if (list) list.push(counts)
      else byName.set(name, [counts])
    }
  if (byName.size === 0) return undefined
  const merged: Record<string, RequestCounts> = {}
  for (const [name, list] of byName) {
    const errors = emptyErrorCounts()
    for (const counts of list) addErrorCounts(errors, counts.errors)
    merged[name] = {
      dispatched: list.reduce((n, c) => n + c.dispatched, 0),
      ok: list.reduce((n, c) => n + c.ok, 0),
      errors,
      latency: list.length === 1 ? list[0]!.latency : encodeHistogram(mergeEncoded(list.map((c) => c.latency))),
    }
  }
  return merged
}
