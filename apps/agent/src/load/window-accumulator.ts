import {
  emptyErrorCounts,
  isExpectedStatus,
  lateSendMs,
  maxTlsFailureChars,
  type ErrorCounts,
  type StatusRange,
  type WindowReport,
} from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs, type Histogram } from '@gauntlet/metrics'

export type FailureKind = 'timeout' | 'refused' | 'reset' | 'tls' | 'check' | 'other'

/** Everything measured for one 1 s window while it is open. */
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

  constructor(
    readonly index: number,
    readonly step: number,
    readonly planned: number,
  ) {}

  noteSendLag(lagMs: number): void {
    if (lagMs > lateSendMs) this.lateSends++
    if (lagMs > this.maxSendLagMs) this.maxSendLagMs = lagMs
  }

  /** `expected`: the scenario's expected statuses; without it a 2xx is a success and anything else an error. */
  recordResponse(status: number, latencyUs: number, expected?: readonly StatusRange[]): void {
    this.resolved++
    if (isExpectedStatus(status, expected)) {
      this.ok++
      recordLatencyUs(this.latency, latencyUs)
    } else {
      const key = String(status)
      this.errors.status[key] = (this.errors.status[key] ?? 0) + 1
    }
  }

  /** `reason`: for a `tls` failure, why (kept for the window's first one only: bounded). */
  recordFailure(kind: FailureKind, reason?: string): void {
    this.resolved++
    this.errors[kind] = (this.errors[kind] ?? 0) + 1
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
    }
  }
}
