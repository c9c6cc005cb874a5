import { totalErrors, type Problem, type WindowReport } from '@gauntlet/contracts'
import {
  decodeCompact,
  decodeHistogram,
  latencyCounts,
  scanV2Counts,
  SparseHistogram,
  type LatencyCounts,
} from '@gauntlet/metrics'
import { isDeepStrictEqual } from 'node:util'
import { inflateSync } from 'node:zlib'

/**
 * Checks on an agent's windows before they are stored or merged. Pure: what the agent's assignment
 * allows is passed in. Every invariant here holds for any window a real agent builds
 * (apps/agent/src/load/window-accumulator.ts), so a window that breaks one is a bug or a lie.
 */

/** What the controller knows about the agent that sent a report. */
export interface ReportExpectation {
  /**
   * The steps run second `index` may carry in this agent's plan (a hold's replan can change it); empty when the plan
   * has no such second.
   */
  stepsAt(index: number): readonly number[]
  /** The window this agent already delivered for `index`, if any. */
  delivered(index: number): WindowReport | undefined
  /** The mix's request names, when each is counted apart; absent, a window may carry none. */
  requestNames?: readonly string[]
}

/**
 * The histogram an agent builds (packages/metrics createLatencyHistogram): anything larger is refused before it is
 * allocated.
 */
const maxSignificantDigits = 3
/** createLatencyHistogram's precision. */
const canonicalDigits = 3
const maxTrackableUs = 3_600_000_000n
/**
 * Decompressed size of the largest legal histogram (every bucket of the canonical shape non-zero), with room to spare.
 */
const maxInflatedBytes = 1024 * 1024
const compressedHeaderBytes = 8
const v2HeaderBytes = 40
/** The compressed V2 cookie (hdr-histogram-js's V2CompressedEncodingCookieBase), its word-size bits aside. */
const compressedCookieBase = 0x1c849304
/** Counts-array length of the canonical shape, the longest of any shape allowed here (lowest >= 1, <= 3 digits, <= 1 h). */
const maxCountsLength = 23_552
/** What the encoder (base64-js) writes: the standard alphabet, padded. The library's decoder reads other text differently. */
const base64Text = /^[A-Za-z0-9+/]*={0,2}$/

/** Fields only the controller's merge sets. */
const mergedOnly = ['agents', 'missingAgents', 'faults', 'skewMs'] as const

/**
 * Every problem with `windows`, each with its path; empty when they may be stored and merged.
 * `decoded` gets the latency of each window whose histogram checked out (the decode is not repeated).
 */
export function checkReport(
  windows: readonly WindowReport[],
  expect: ReportExpectation,
  decoded?: (window: WindowReport, latency: LatencyCounts) => void,
): Problem[] {
  return reportProblems(windows, runProblems(windows, expect), (i) => windowProblems(windows[i]!, decoded))
}

/**
 * What the run's state says of each window (no histogram is decoded): a request outside the mix (then
 * that is its one problem), a second outside the agent's assignment or of another step, a second already
 * delivered with different content. With windowProblems (each window on its own, which can be done
 * elsewhere, e.g. on another thread), reportProblems gives checkReport's answer.
 */
export function runProblems(windows: readonly WindowReport[], expect: ReportExpectation): WindowRunProblems[] {
  const seen = new Map<number, WindowReport>()
  return windows.map((window, i) => {
    const path = `/windows/${i}`
    // Only the requests of this run's mix (checked before any is decoded): a report costs at most one
    // histogram decode per request of the mix.
    const unknown = requestOutsideMix(window, expect.requestNames)
    if (unknown !== undefined)
      return {
        outsideMix: { path: `${path}/requests`, message: `"${unknown.slice(0, 64)}" is not a request of this run` },
      }
    const problems: Problem[] = []
    if (!Number.isInteger(window.index) || window.index < 0) return { problems }
    const steps = expect.stepsAt(window.index)
    if (steps.length === 0)
      problems.push({ path: `${path}/index`, message: `window ${window.index} is outside this agent's assignment` })
    else if (!steps.includes(window.step))
      problems.push({
        path: `${path}/step`,
        message: `window ${window.index} belongs to step ${steps.join(' or ')}, not ${window.step}`,
      })
    const earlier = seen.get(window.index) ?? expect.delivered(window.index)
    if (earlier && !isDeepStrictEqual(earlier, window))
      problems.push({ path, message: `window ${window.index} was already delivered with different content` })
    seen.set(window.index, window)
    return { problems }
  })
}

/** One window's problems that depend on the run (runProblems). */
export type WindowRunProblems = { outsideMix: Problem } | { problems: Problem[] }

/** The name of a request of `window` that is not one of the mix's `names` (none: a window may carry none). */
export function requestOutsideMix(window: WindowReport, names: readonly string[] | undefined): string | undefined {
  return Object.keys(window.requests ?? {}).find((name) => !names?.includes(name))
}

/**
 * runProblems and each window's own problems (`own(i)`: windowProblems of window i, never asked of a
 * window outside the mix) in checkReport's order: per window, its own problems, then the run's.
 */
export function reportProblems(
  windows: readonly WindowReport[],
  run: readonly WindowRunProblems[],
  own: (i: number) => readonly string[],
): Problem[] {
  return windows.flatMap((_, i) => {
    const found = run[i]!
    if ('outsideMix' in found) return [found.outsideMix]
    return [...own(i).map((message) => ({ path: `/windows/${i}`, message })), ...found.problems]
  })
}

/** What is wrong with one window on its own (its counters, and its histogram against them). */
export function windowProblems(
  window: WindowReport,
  decoded?: (window: WindowReport, latency: LatencyCounts) => void,
): string[] {
  const problems: string[] = []
  const counters = {
    index: window.index,
    step: window.step,
    planned: window.planned,
    sent: window.sent,
    dispatched: window.dispatched,
    dropped: window.dropped,
    ok: window.ok,
    lateSends: window.lateSends,
    openConnections: window.openConnections,
  }
  const errors = {
    timeout: window.errors.timeout,
    refused: window.errors.refused,
    reset: window.errors.reset,
    tls: window.errors.tls ?? 0,
    check: window.errors.check ?? 0,
    other: window.errors.other,
    ...prefixed(window.errors.status),
  }
  for (const [name, value] of Object.entries({ ...counters, ...errors }))
    if (!isCount(value)) problems.push(`${name} must be a non-negative integer (got ${String(value)})`)
  if (!Number.isFinite(window.startedAt)) problems.push('startedAt must be a finite epoch time')
  if (!Number.isFinite(window.maxSendLagMs) || window.maxSendLagMs < 0)
    problems.push('maxSendLagMs must be a non-negative number')
  for (const field of mergedOnly)
    if (window[field] !== undefined) problems.push(`${field} is set by the controller's merge, not by an agent`)
  if (problems.length > 0) return problems

  // Every outcome (response or failure) is for a request that left;
  // every request that left or was given up on was planned.
  const outcomes = window.ok + totalErrors(window.errors)
  if (outcomes > window.dispatched)
    problems.push(
      `${outcomes} outcomes (ok ${window.ok} + errors ${outcomes - window.ok}) exceed ` +
        `the ${window.dispatched} requests dispatched`,
    )
  if (window.dispatched + window.dropped > window.planned)
    problems.push(`dispatched ${window.dispatched} + dropped ${window.dropped} exceed the ${window.planned} planned`)
  if (window.lateSends > window.dispatched)
    problems.push(`lateSends ${window.lateSends} exceed the ${window.dispatched} requests dispatched`)

  let histogram: LatencyCounts
  try {
    histogram = decodeLatency(window.latency)
  } catch (error) {
    problems.push(`latency is not a valid histogram: ${(error as Error).message}`)
    return problems
  }
  // The histogram holds the latency of each successful response, and nothing else.
  if (histogram.totalCount !== window.ok)
    problems.push(`latency histogram holds ${histogram.totalCount} values but ok is ${window.ok}`)
  else decoded?.(window, histogram)
  if (window.requests) problems.push(...requestProblems(window, window.requests))
  return problems
}

/** A mix's per-request counts: each one consistent on its own, and together adding up to the window. */
function requestProblems(window: WindowReport, requests: NonNullable<WindowReport['requests']>): string[] {
  const problems: string[] = []
  let dispatched = 0
  let ok = 0
  let errors = 0
  for (const [name, counts] of Object.entries(requests)) {
    dispatched += counts.dispatched
    ok += counts.ok
    errors += totalErrors(counts.errors)
    try {
      const count = decodeLatency(counts.latency).totalCount
      if (count !== counts.ok)
        problems.push(`request ${name}: latency histogram holds ${count} values but ok is ${counts.ok}`)
    } catch (error) {
      problems.push(`request ${name}: latency is not a valid histogram: ${(error as Error).message}`)
    }
  }
  if (dispatched !== window.dispatched)
    problems.push(`the requests' dispatched add up to ${dispatched}, not the window's ${window.dispatched}`)
  if (ok !== window.ok) problems.push(`the requests' ok add up to ${ok}, not the window's ${window.ok}`)
  if (errors !== totalErrors(window.errors))
    problems.push(`the requests' errors add up to ${errors}, not the window's ${totalErrors(window.errors)}`)
  return problems
}

/**
 * Decodes an agent's latency histogram, refusing one that would inflate or allocate beyond the largest
 * legal histogram (a few bytes of base64 can otherwise declare gigabytes), or that no encoder writes (the
 * library's decoder would walk every bucket such an encoding claims). One of the canonical shape (what
 * agents send) is read sparse (SparseHistogram: no counts array of the whole range; counts, quantiles and
 * merges the library's decode gives); any other is decoded by the library, and copied into the canonical
 * shape unless only its range differs.
 */
export function decodeLatency(encoded: string): LatencyCounts {
  if (encoded.length % 4 !== 0 || !base64Text.test(encoded)) throw new Error('not base64')
  const compressed = Buffer.from(encoded, 'base64')
  if (compressed.length <= compressedHeaderBytes) throw new Error('too short')
  // What the library's decoder reads first: the cookie and the length of the compressed data that follows.
  if (
    (compressed.readUInt32BE(0) & ~0xf0) !== compressedCookieBase ||
    compressed.readUInt32BE(4) !== compressed.length - compressedHeaderBytes
  )
    throw new Error('not a compressed histogram')
  let inflated: Buffer
  try {
    inflated = inflateSync(compressed.subarray(compressedHeaderBytes), { maxOutputLength: maxInflatedBytes })
  } catch {
    throw new Error('not a compressed histogram, or larger than any agent sends')
  }
  if (inflated.length < v2HeaderBytes) throw new Error('truncated header')
  const header = new DataView(inflated.buffer, inflated.byteOffset, inflated.length)
  const digits = header.getInt32(12)
  const lowest = header.getBigInt64(16)
  const highest = header.getBigInt64(24)
  if (digits < 0 || digits > maxSignificantDigits || lowest < 1n || highest > maxTrackableUs || highest < lowest) {
    throw new Error('its range or precision is not that of a latency histogram')
  }
  try {
    const sparse = SparseHistogram.fromV2Payload(inflated)
    if (sparse) return sparse
    scanV2Counts(inflated, maxCountsLength)
    return latencyCounts(
      digits === canonicalDigits && lowest === 1n ? decodeCompact(encoded) : decodeHistogram(encoded),
    )
  } catch {
    // The library's own words stay out of the answer and the run's warnings.
    throw new Error('it does not decode')
  }
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function prefixed(status: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(status).map(([code, count]) => [`errors.status.${code}`, count]))
}
