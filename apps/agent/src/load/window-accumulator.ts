import {
  emptyErrorCounts,
  isExpectedStatus,
  lateSendMs,
  maxTlsFailureChars,
  type ErrorCounts,
  type RequestCounts,
  type StatusRange,
  type WindowReport,
} from '@gauntlet/contracts/plain'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs, type Histogram } from '@gauntlet/metrics'

export type FailureKind = 'timeout' | 'refused' | 'reset' | 'tls' | 'check' | 'other'

/** One request of a mix within a window. */
class RequestAccumulator {
  readonly latency: Histogram = createLatencyHistogram()
  readonly errors: ErrorCounts = emptyErrorCounts()
  dispatched = 0
  ok = 0

  toCounts(): RequestCounts {
    return { dispatched: this.dispatched, ok: this.ok, errors: this.errors, latency: encodeHistogram(this.latency) }
  }
}

/**
 * Everything measured for one 1 s window while it is open. With a mix's request names, each outcome is
 * also counted under its request (the `request` argument: its place in `requestNames`).
 */
export class WindowAccumulator {
  readonly latency: Histogram = createLatencyHistogram()
  readonly errors: ErrorCounts = emptyErrorCounts()
  /** Requests that left during this window's wall-clock second (see WindowReport.sent). */
  sent = 0
  dropped = 0
  ok = 0
  /** Requests intended in this window that have an outcome (response, failure or drop). */
  resolved = 0
  /** Requests intended in this window that have left (see WindowReport.dispatched). */
  dispatched = 0
  lateSends = 0
  maxSendLagMs = 0
  /** The reason of this window's first TLS failure: the class counts them, this says why. */
  tlsFailure: string | undefined

  private readonly requests: Array<RequestAccumulator | undefined> = []

  constructor(
    readonly index: number,
    readonly step: number,
    readonly planned: number,
    private readonly requestNames?: readonly string[],
  ) {}

  /** A request intended in this window left (counted under its request too). */
  noteDispatched(request = 0): void {
    this.dispatched++
    const counts = this.requestAt(request)
    if (counts) counts.dispatched++
  }

  private requestAt(request: number): RequestAccumulator | undefined {
    if (!this.requestNames) return undefined
    return (this.requests[request] ??= new RequestAccumulator())
  }

  noteSendLag(lagMs: number): void {
    if (lagMs > lateSendMs) this.lateSends++
    if (lagMs > this.maxSendLagMs) this.maxSendLagMs = lagMs
  }

  /** `expected`: the scenario's expected statuses; without it a 2xx is a success and anything else an error. */
  recordResponse(status: number, latencyUs: number, expected?: readonly StatusRange[], request = 0): void {
    this.resolved++
    const counts = this.requestAt(request)
    if (isExpectedStatus(status, expected)) {
      this.ok++
      recordLatencyUs(this.latency, latencyUs)
      if (counts) {
        counts.ok++
        recordLatencyUs(counts.latency, latencyUs)
      }
    } else {
      const key = String(status)
      this.errors.status[key] = (this.errors.status[key] ?? 0) + 1
      if (counts) counts.errors.status[key] = (counts.errors.status[key] ?? 0) + 1
    }
  }

  /** `reason`: for a `tls` failure, why (kept for the window's first one only: bounded). */
  recordFailure(kind: FailureKind, reason?: string, request = 0): void {
    this.resolved++
    this.errors[kind] = (this.errors[kind] ?? 0) + 1
    const counts = this.requestAt(request)
    if (counts) counts.errors[kind] = (counts.errors[kind] ?? 0) + 1
    if (kind === 'tls' && this.tlsFailure === undefined && reason !== undefined)
      this.tlsFailure = reason.slice(0, maxTlsFailureChars)
  }

  recordDrops(count: number): void {
    this.resolved += count
    this.dropped += count
  }

  get settled(): boolean {
    return this.resolved >= this.planned
  }

  /**
   * The generator is the limit when it dropped planned sends or when more than 1% of sends left
   * late (event-loop lag, CPU, or no free connection): the latency then includes our own queueing.
   */
  get generatorLimited(): boolean {
    return this.dropped > 0 || this.lateSends > Math.max(1, this.dispatched * 0.01)
  }

  toReport(startedAt: number, complete: boolean, openConnections: number): WindowReport {
    return {
      index: this.index,
      step: this.step,
      startedAt,
      planned: this.planned,
      sent: this.sent,
      dispatched: this.dispatched,
      dropped: this.dropped,
      ok: this.ok,
      errors: this.errors,
      latency: encodeHistogram(this.latency),
      lateSends: this.lateSends,
      maxSendLagMs: Math.round(this.maxSendLagMs * 1000) / 1000,
      generatorLimited: this.generatorLimited,
      complete,
      openConnections,
      ...(this.tlsFailure !== undefined ? { tlsFailure: this.tlsFailure } : {}),
      ...(this.requestNames ? { requests: this.requestReports(this.requestNames) } : {}),
    }
  }

  /** The requests this window made, by name (one no send of this window made is left out). */
  private requestReports(names: readonly string[]): Record<string, RequestCounts> {
    const reports: Record<string, RequestCounts> = {}
    this.requests.forEach((counts, i) => {
      if (counts) reports[names[i]!] = counts.toCounts()
    })
    return reports
  }
}
