import { emptyErrorCounts, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { expect } from 'vitest'

/**
 * A synthetic 1 s window (an agent's, or merged): `ok` responses at `latencyMs`, or one response at each of
 * `latenciesUs`; `errors` 500s.
 */
export function bucket(
  index: number,
  opts: {
    step?: number
    ok?: number
    errors?: number
    latencyMs?: number
    latenciesUs?: readonly number[]
    startedAt?: number
    faults?: string[]
    missingAgents?: string[]
  } = {},
): WindowReport {
  const latenciesUs = opts.latenciesUs ?? Array<number>(opts.ok ?? 100).fill((opts.latencyMs ?? 5) * 1000)
  const ok = latenciesUs.length
  const failed = opts.errors ?? 0
  const h = createLatencyHistogram()
  for (const us of latenciesUs) recordLatencyUs(h, us)
  const errors = emptyErrorCounts()
  if (failed > 0) errors.status['500'] = failed
  return {
    index,
    step: opts.step ?? 0,
    startedAt: opts.startedAt ?? index * 1000,
    planned: ok + failed,
    sent: ok + failed,
    dispatched: ok + failed,
    dropped: 0,
    ok,
    errors,
    latency: encodeHistogram(h),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: true,
    openConnections: 1,
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.missingAgents ? { missingAgents: opts.missingAgents } : {}),
  }
}

/**
 * The first step (planned `plannedS` s) was held in 2 s slices, one or two of them (a loaded machine
 * can delay the second window past its gate): its summary and its windows span exactly the held length.
 * Returns the seconds held.
 */
export function expectFirstStepHeld(summary: RunSummary, windows: readonly WindowReport[], plannedS: number): number {
  const held = summary.steps[0]!.heldS!
  expect(held % 2 === 0 && held >= 2 && held <= 4, `held ${held}s`).toBe(true)
  expect(summary.steps[0]).toMatchObject({ durationS: plannedS + held })
  expect(windows.filter((w) => w.step === 0).map((w) => w.index)).toEqual([...Array(plannedS + held).keys()])
  return held
}

/** A histogram of `latenciesMs`, encoded as an agent sends it. */
export function encodedLatencies(latenciesMs: readonly number[]): string {
  const h = createLatencyHistogram()
  for (const ms of latenciesMs) recordLatencyUs(h, ms * 1000)
  return encodeHistogram(h)
}

/**
 * One load thread's window `index`: 50 planned, sent and answered (one latency of 1 ms recorded unless
 * `overrides.latency` is given, which then costs no encoding), 3 connections.
 */
export function threadWindow(index: number, overrides: Partial<WindowReport> = {}): WindowReport {
  return {
    index,
    step: 0,
    startedAt: 1_700_000_000_000 + index * 1000,
    planned: 50,
    sent: 50,
    dispatched: 50,
    dropped: 0,
    ok: 50,
    errors: emptyErrorCounts(),
    latency: overrides.latency ?? encodedLatencies([1]),
    lateSends: 0,
    maxSendLagMs: 1,
    generatorLimited: false,
    complete: true,
    openConnections: 3,
    ...overrides,
  }
}
