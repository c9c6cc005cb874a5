import { emptyErrorCounts, type ErrorCounts, type WindowReport } from '@gauntlet/contracts'
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  recordLatencyUs,
  summarizeLatency,
} from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { mergeWindows, type MergeFrame } from '../../apps/controller/src/agents/window-merge.js'

const encodedOf = (latenciesMs: readonly number[]): string => {
  const h = createLatencyHistogram()
  for (const ms of latenciesMs) recordLatencyUs(h, ms * 1000)
  return encodeHistogram(h)
}

const part = (overrides: Partial<WindowReport> & { latenciesMs?: number[] } = {}): WindowReport => {
  const { latenciesMs = [], ...rest } = overrides
  return {
    index: 7,
    step: 2,
    startedAt: 1_700_000_007_000,
    planned: 10,
    sent: 10,
    dispatched: 10,
    dropped: 0,
    ok: latenciesMs.length,
    errors: emptyErrorCounts(),
    latency: encodedOf(latenciesMs),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: true,
    openConnections: 1,
    ...rest,
  }
}

const errors = (e: Partial<ErrorCounts>): ErrorCounts => ({
  ...emptyErrorCounts(),
  ...e,
  status: { ...(e.status ?? {}) },
})

const frame: MergeFrame = { index: 7, step: 2, planned: 123, startedAt: 1_700_000_007_000 }

describe('mergeWindows', () => {
  it('takes index, step and planned from the frame (planned includes agents that did not deliver)', () => {
    const merged = mergeWindows(frame, [part({ planned: 10 }), part({ planned: 20 })], [])
    expect(merged).toMatchObject({ index: 7, step: 2, planned: 123, agents: 2 })
  })

  it('adds the counters and keeps the worst lag', () => {
    const a = part({ sent: 10, dispatched: 9, dropped: 1, ok: 7, lateSends: 2, maxSendLagMs: 35, openConnections: 4 })
    const b = part({
      sent: 20,
      dispatched: 21,
      dropped: 0,
      ok: 18,
      lateSends: 0,
      maxSendLagMs: 12.5,
      openConnections: 6,
    })
    const c = part({ sent: 5, dispatched: 5, dropped: 3, ok: 1, lateSends: 5, maxSendLagMs: 80, openConnections: 1 })
    const merged = mergeWindows(frame, [a, b, c], [])
    expect(merged).toMatchObject({
      sent: 35,
      dispatched: 35,
      dropped: 4,
      ok: 26,
      lateSends: 7,
      maxSendLagMs: 80,
      openConnections: 11,
      agents: 3,
    })
  })

  it.each<[string, boolean[], boolean]>([
    ['none limited', [false, false], false],
    ['one limited', [false, true], true],
    ['all limited', [true, true], true],
  ])('generatorLimited: %s', (_name, limited, expected) => {
    expect(
      mergeWindows(
        frame,
        limited.map((generatorLimited) => part({ generatorLimited })),
        [],
      ).generatorLimited,
    ).toBe(expected)
  })

  it('adds error counts by class and by status', () => {
    const a = part({ errors: errors({ status: { '503': 4, '404': 1 }, timeout: 2, refused: 0, reset: 1, tls: 2 }) })
    const b = part({ errors: errors({ status: { '503': 6, '500': 3 }, timeout: 1, refused: 5, check: 4, other: 2 }) })
    // A window stored before the tls and check classes existed has neither field.
    const older: ErrorCounts = emptyErrorCounts()
    delete older.tls
    delete older.check
    const c = part({ errors: older })
    expect(mergeWindows(frame, [a, b, c], []).errors).toEqual({
      status: { '503': 10, '404': 1, '500': 3 },
      timeout: 3,
      refused: 5,
      reset: 1,
      tls: 2,
      check: 4,
      other: 2,
    })
  })

  it('does not modify the windows it merges', () => {
    const a = part({ errors: errors({ status: { '503': 4 }, timeout: 2 }), sent: 3 })
    const b = part({ errors: errors({ status: { '503': 6 }, timeout: 1 }), sent: 4 })
    const copies = structuredClone([a, b])
    mergeWindows(frame, [a, b], [])
    expect([a, b]).toEqual(copies)
  })

  it('merges histograms: agent A all 10 ms and B all 100 ms give p50 of 10 ms and p99 of 100 ms', () => {
    const a = part({ latenciesMs: Array(150).fill(10) })
    const b = part({ latenciesMs: Array(50).fill(100) })
    const merged = summarizeLatency(decodeHistogram(mergeWindows(frame, [a, b], []).latency))
    const together = summarizeLatency(
      decodeHistogram(encodedOf([...Array<number>(150).fill(10), ...Array<number>(50).fill(100)])),
    )
    expect(merged).toEqual(together)
    expect(merged.count).toBe(200)
    expect(merged.p50Ms).toBeCloseTo(10, 1)
    expect(merged.p99Ms).toBeCloseTo(100, 0)
    // Averaging the agents' percentiles would say 55 ms for both.
    const pa = summarizeLatency(decodeHistogram(a.latency))
    const pb = summarizeLatency(decodeHistogram(b.latency))
    expect(Math.abs(merged.p50Ms! - (pa.p50Ms! + pb.p50Ms!) / 2)).toBeGreaterThan(40)
  })

  it('merged percentiles equal those of one histogram holding every agent\u2019s samples', () => {
    // A deterministic spread of latencies over three agents with very different counts.
    let seed = 12345
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const samples = [
      Array.from({ length: 1000 }, () => 1 + random() * 20),
      Array.from({ length: 37 }, () => 200 + random() * 800),
      Array.from({ length: 300 }, () => 5 + random() * random() * 3000),
    ]
    const merged = summarizeLatency(
      decodeHistogram(
        mergeWindows(
          frame,
          samples.map((latenciesMs) => part({ latenciesMs })),
          [],
        ).latency,
      ),
    )
    expect(merged).toEqual(summarizeLatency(decodeHistogram(encodedOf(samples.flat()))))
    expect(merged.count).toBe(1337)
  })

  it('windows without responses merge into an empty histogram', () => {
    const merged = mergeWindows(frame, [part(), part()], [])
    expect(summarizeLatency(decodeHistogram(merged.latency))).toMatchObject({ count: 0, p50Ms: null })
  })

  it.each<[string, number[], number, number]>([
    ['one agent', [1_700_000_007_010], 1_700_000_007_010, 0],
    ['two agents 3 ms apart', [1_700_000_007_004, 1_700_000_007_001], 1_700_000_007_001, 3],
    [
      'three agents, spread 42.5 ms',
      [1_700_000_007_020, 1_699_999_999_990 + 7_000, 1_700_000_007_032.5],
      1_700_000_006_990,
      42.5,
    ],
    ['all at the same time', [1_700_000_007_000, 1_700_000_007_000], 1_700_000_007_000, 0],
  ])('%s: startedAt is the earliest start and skewMs the spread', (_name, starts, startedAt, skewMs) => {
    const merged = mergeWindows(
      { ...frame, startedAt: 1 },
      starts.map((s) => part({ startedAt: s })),
      [],
    )
    expect(merged.startedAt).toBe(startedAt)
    expect(merged.skewMs).toBeCloseTo(skewMs, 6)
  })

  it.each<[string, boolean[], boolean]>([
    ['all complete', [true, true, true], true],
    ['one incomplete', [true, false, true], false],
    ['none complete', [false, false], false],
    ['no parts', [], false],
  ])('complete: %s', (_name, complete, expected) => {
    expect(
      mergeWindows(
        frame,
        complete.map((c) => part({ complete: c })),
        [],
      ).complete,
    ).toBe(expected)
  })

  it('lists missing agents, and omits the field when none is missing', () => {
    const missing = ['agent-b', 'agent-c']
    const merged = mergeWindows(frame, [part()], missing)
    expect(merged.missingAgents).toEqual(['agent-b', 'agent-c'])
    missing.push('agent-d')
    expect(merged.missingAgents).toEqual(['agent-b', 'agent-c'])
    expect('missingAgents' in mergeWindows(frame, [part()], [])).toBe(false)
  })

  it('with no parts: startedAt from the frame, zero counters, no agents, incomplete', () => {
    const merged = mergeWindows(frame, [], ['agent-a'])
    expect(merged).toMatchObject({
      index: 7,
      step: 2,
      planned: 123,
      startedAt: frame.startedAt,
      sent: 0,
      dispatched: 0,
      dropped: 0,
      ok: 0,
      errors: emptyErrorCounts(),
      lateSends: 0,
      maxSendLagMs: 0,
      generatorLimited: false,
      complete: false,
      openConnections: 0,
      agents: 0,
      skewMs: 0,
      missingAgents: ['agent-a'],
    })
    expect(decodeHistogram(merged.latency).totalCount).toBe(0)
  })
})
