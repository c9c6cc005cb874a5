import {
  emptyErrorCounts,
  type Decision,
  type FaultRecord,
  type HookDelivery,
  type ObservedStep,
  type RunSummary,
  type WindowReport,
} from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { buildRunReport } from '../../apps/controller/src/report/run-report.js'
import type { RunReport } from '@gauntlet/contracts'

/** Run second 0 of the synthetic runs. */
export const t0 = Date.parse('2026-12-02T02:00:00.000Z')
export const iso = (s: number): string => new Date(t0 + s * 1000).toISOString()

export interface SecondOpts {
  step?: number
  ok?: number
  /** Successful responses spread evenly over [latencyMs, latencyMs + spreadMs]. */
  latencyMs?: number
  spreadMs?: number
  timeout?: number
  refused?: number
  reset?: number
  status500?: number
  faults?: string[]
  generatorLimited?: boolean
  lateSends?: number
  dropped?: number
}

/** One merged 1 s window, its latency histogram made by the real encoder. */
export function second(index: number, o: SecondOpts = {}): WindowReport {
  const ok = o.ok ?? 100
  const h = createLatencyHistogram()
  const spread = o.spreadMs ?? 2
  for (let i = 0; i < ok; i++) recordLatencyUs(h, Math.round(((o.latencyMs ?? 5) + (spread * i) / ok) * 1000))
  const errors = emptyErrorCounts()
  errors.timeout = o.timeout ?? 0
  errors.refused = o.refused ?? 0
  errors.reset = o.reset ?? 0
  if (o.status500) errors.status['500'] = o.status500
  const failed = errors.timeout + errors.refused + errors.reset + (o.status500 ?? 0)
  return {
    index,
    step: o.step ?? 0,
    startedAt: t0 + index * 1000,
    planned: ok + failed,
    sent: ok + failed,
    dispatched: ok + failed - (o.dropped ?? 0),
    dropped: o.dropped ?? 0,
    ok,
    errors,
    latency: encodeHistogram(h),
    lateSends: o.lateSends ?? 0,
    maxSendLagMs: o.lateSends ? 150 : 0,
    generatorLimited: o.generatorLimited ?? false,
    complete: true,
    openConnections: 4,
    ...(o.faults ? { faults: o.faults } : {}),
  }
}

/** Seconds [from, to) made alike. */
export function seconds(from: number, to: number, o: SecondOpts = {}): WindowReport[] {
  return Array.from({ length: to - from }, (_, i) => second(from + i, o))
}

export function faultRecord(
  id: string,
  type: string,
  mechanism: string,
  fromS: number,
  toS: number | null,
): FaultRecord {
  return {
    id,
    type,
    mechanism,
    targets: ['api'],
    plannedApplyAt: iso(fromS),
    appliedAt: iso(fromS),
    plannedRevertAt: iso(toS ?? fromS + 5),
    revertedAt: toS === null ? null : iso(toS),
    revertVerified: toS !== null,
    notes: [],
    injector: 'host',
  }
}

/** A window decision that tripped `guard` on the span [fromS, toS). */
export function tripDecision(guard: string, fromS: number, toS: number, dryRun = false): Decision {
  return {
    at: iso(toS),
    step: 0,
    source: 'window',
    guard,
    condition: 'error_rate < 5%',
    verdict: 'fail',
    action: dryRun ? 'continue' : 'rollback',
    ...(dryRun ? { dryRun: true } : {}),
    reason: dryRun ? `would have rolled back at ${toS}s: a span failed` : `a span failed (at ${toS}s)`,
    evidence: {
      n: 200,
      estimate: 0.5,
      lower: 0.4,
      upper: 0.6,
      limit: 0.05,
      confidence: 'fail',
      windowStart: fromS,
      windowEnd: toS,
    },
  }
}

export function step(index: number, durationS: number, warmupS = 1): ObservedStep {
  return {
    index,
    plannedRps: 100,
    achievedRps: 100,
    durationS,
    warmupS,
    planned: 100 * durationS,
    sent: 100 * durationS,
    completed: 100 * durationS,
    errors: 0,
    errorRate: 0,
    errorsByClass: emptyErrorCounts(),
    p50Ms: 5,
    p90Ms: 6,
    p99Ms: 7,
    maxMs: 7,
    generatorLimited: false,
    verdict: 'pass',
    thresholds: [],
  }
}

export interface RunOpts {
  faults?: FaultRecord[]
  decisions?: Decision[]
  hooks?: HookDelivery[]
  rollback?: RunSummary['rollback']
  targetMetrics?: RunSummary['targetMetrics']
  targetSeries?: Record<string, Array<{ atS: number; value: number }>>
}

/** The report of a synthetic one-step run, built by the real builder (which calls findRootCause without a plan). */
export function reportOf(windows: WindowReport[], o: RunOpts = {}): RunReport {
  const durationS = windows.length
  const summary: RunSummary = {
    runId: 'run-1',
    status: o.rollback ? 'failed' : 'passed',
    scenario: 'synthetic',
    target: 'http://api/',
    verdict: o.rollback ? 'fail' : 'pass',
    capacityRps: null,
    reasons: [],
    warnings: [],
    startedAt: iso(0),
    finishedAt: iso(durationS),
    steps: [step(0, durationS)],
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.decisions ? { decisions: o.decisions } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
    ...(o.rollback ? { rollback: o.rollback } : {}),
    ...(o.targetMetrics ? { targetMetrics: o.targetMetrics } : {}),
  }
  return buildRunReport({ runId: 'run-1', summary, windows, targetSeries: o.targetSeries ?? {} })
}
