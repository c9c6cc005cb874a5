import {
  AgentReportSchema,
  maxAgentReportBytes,
  maxEncodedHistogramChars,
  maxWindowsPerReport,
  type AgentReport,
} from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram } from '@gauntlet/metrics'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'

/** The hardest histogram to encode: every bucket with a large random count (deflate cannot shrink them). */
function worstHistogram(): string {
  const histogram = createLatencyHistogram()
  for (let us = 1; us <= 3_600_000_000; us = Math.floor(us * 1.0005) + 1)
    histogram.recordValueWithCount(us, Math.floor(Math.random() * 2 ** 52))
  return encodeHistogram(histogram)
}

describe('the largest legal agent report (the report body limit)', () => {
  it('bounds every histogram the agent can encode', () => {
    expect(worstHistogram().length).toBeLessThan(maxEncodedHistogramChars)
  })

  it('is larger than any report the schema accepts, and far below the old 64 MiB', () => {
    const status: Record<string, number> = {}
    for (let code = 0; code < 1000; code++) status[String(code).padStart(3, '0')] = Number.MAX_SAFE_INTEGER
    const big = Number.MAX_SAFE_INTEGER
    const window = {
      index: big,
      step: big,
      startedAt: -Number.MAX_VALUE,
      planned: big,
      sent: big,
      dispatched: big,
      dropped: big,
      ok: big,
      errors: { status, timeout: big, refused: big, reset: big, other: big },
      latency: 'A'.repeat(maxEncodedHistogramChars),
      lateSends: big,
      maxSendLagMs: Number.MAX_VALUE,
      generatorLimited: false,
      complete: false,
      openConnections: big,
    }
    const report: AgentReport = {
      runId: 'r'.repeat(100),
      windows: Array.from({ length: maxWindowsPerReport }, () => window),
      done: { aborted: false, peakConnections: big },
    }
    expect(Value.Check(AgentReportSchema, report)).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(report))).toBeLessThanOrEqual(maxAgentReportBytes)
    expect(maxAgentReportBytes).toBeLessThan(8 * 1024 * 1024)
  })

  it('refuses merged-only window fields and longer histograms from an agent', () => {
    const base = { runId: 'r', windows: [] }
    expect(Value.Check(AgentReportSchema, base)).toBe(true)
    const window = {
      index: 0,
      step: 0,
      startedAt: 0,
      planned: 1,
      sent: 1,
      dispatched: 1,
      dropped: 0,
      ok: 1,
      errors: { status: {}, timeout: 0, refused: 0, reset: 0, other: 0 },
      latency: 'x',
      lateSends: 0,
      maxSendLagMs: 0,
      generatorLimited: false,
      complete: true,
      openConnections: 1,
    }
    expect(Value.Check(AgentReportSchema, { ...base, windows: [window] })).toBe(true)
    expect(Value.Check(AgentReportSchema, { ...base, windows: [{ ...window, missingAgents: ['x'] }] })).toBe(false)
    expect(
      Value.Check(AgentReportSchema, {
        ...base,
        windows: [{ ...window, latency: 'A'.repeat(maxEncodedHistogramChars + 1) }],
      }),
    ).toBe(false)
    expect(
      Value.Check(AgentReportSchema, {
        ...base,
        windows: Array.from({ length: maxWindowsPerReport + 1 }, () => window),
      }),
    ).toBe(false)
  })
})
