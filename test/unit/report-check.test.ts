import { emptyErrorCounts, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import * as hdr from 'hdr-histogram-js'
import { deflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  checkReport,
  decodeLatency,
  windowProblems,
  type ReportExpectation,
} from '../../apps/controller/src/agents/report-check.js'

const encodedOf = (count: number): string => {
  const h = createLatencyHistogram()
  for (let i = 0; i < count; i++) recordLatencyUs(h, 1_000 + i)
  return encodeHistogram(h)
}

/** A window as an agent builds it: 10 planned, 10 dispatched, 8 ok, 2 errors. */
const valid = (overrides: Partial<WindowReport> = {}): WindowReport => ({
  index: 5,
  step: 1,
  startedAt: 1_700_000_005_000,
  planned: 10,
  sent: 10,
  dispatched: 10,
  dropped: 0,
  ok: 8,
  errors: { ...emptyErrorCounts(), status: { '503': 1 }, timeout: 1 },
  latency: encodedOf(8),
  lateSends: 1,
  maxSendLagMs: 25,
  generatorLimited: false,
  complete: true,
  openConnections: 4,
  ...overrides,
})

/** A compressed histogram whose payload inflates to `bytes` zeros. */
const inflatingTo = (bytes: number): string => {
  const body = deflateSync(Buffer.alloc(bytes))
  const head = Buffer.alloc(8)
  head.writeInt32BE(0x1c849314, 0)
  head.writeInt32BE(body.length, 4)
  return Buffer.concat([head, body]).toString('base64')
}

/** `encoded` with its compressed-length field set to `length`. */
const withLengthField = (encoded: string, length: number): string => {
  const bytes = Buffer.from(encoded, 'base64')
  bytes.writeInt32BE(length, 4)
  return bytes.toString('base64')
}

/**
 * A compressed histogram of the canonical shape whose counts are a run of 2^40 zero buckets and a 1: the
 * library's decoder would walk every one of them.
 */
const zeroRunPastRange = (() => {
  const header = Buffer.alloc(40)
  header.writeUInt32BE(0x1c849313, 0)
  // ZigZag of -(2^40) is 2^41 - 1: five 7-bit groups of ones, then six; then the count 1 (ZigZag 2).
  const words = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x02])
  header.writeUInt32BE(words.length, 4)
  header.writeUInt32BE(3, 12)
  header.writeUInt32BE(1, 20)
  header.writeUInt32BE(3_600_000_000, 28)
  const body = deflateSync(Buffer.concat([header, words]))
  const head = Buffer.alloc(8)
  head.writeInt32BE(0x1c849314, 0)
  head.writeInt32BE(body.length, 4)
  return Buffer.concat([head, body]).toString('base64')
})()

/** A well-formed histogram of a shape no agent builds (range to 2^50 at 5 digits: a large allocation). */
const oversized = (() => {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 50,
    numberOfSignificantValueDigits: 5,
    bitBucketSize: 64,
  })
  return hdr.encodeIntoCompressedBase64(h)
})()

describe('windowProblems', () => {
  it('finds nothing wrong with a window as an agent builds it', () => {
    expect(windowProblems(valid())).toEqual([])
    expect(
      windowProblems(
        valid({ ok: 0, errors: emptyErrorCounts(), latency: encodedOf(0), dispatched: 0, lateSends: 0, dropped: 10 }),
      ),
    ).toEqual([])
  })

  const cases: Array<[string, Partial<WindowReport>, RegExp]> = [
    ['a histogram that does not decode', { latency: 'AAAA' }, /latency is not a valid histogram/],
    ['an empty histogram string', { latency: '' }, /latency is not a valid histogram/],
    [
      'a histogram that inflates beyond any legal one',
      { latency: inflatingTo(4 * 1024 * 1024) },
      /larger than any agent sends/,
    ],
    ['a histogram of another shape', { latency: oversized }, /range or precision/],
    ['a histogram that is not base64', { latency: `${encodedOf(8).slice(0, -4)}!!!!` }, /not base64/],
    [
      'a histogram whose length field is not its length',
      { latency: withLengthField(encodedOf(8), 10) },
      /not a compressed histogram/,
    ],
    ['a histogram whose counts run past its range', { latency: zeroRunPastRange }, /does not decode/],
    ['a histogram count different from ok', { latency: encodedOf(7) }, /holds 7 values but ok is 8/],
    ['a negative counter', { sent: -1 }, /sent must be a non-negative integer/],
    ['a fractional counter', { ok: 1.5 }, /ok must be a non-negative integer/],
    [
      'a negative error count',
      { errors: { ...emptyErrorCounts(), other: -2 } },
      /other must be a non-negative integer/,
    ],
    [
      'a negative status count',
      { errors: { ...emptyErrorCounts(), status: { '500': -1 } } },
      /errors\.status\.500 must be a non-negative integer/,
    ],
    ['a non-finite start', { startedAt: Number.NaN }, /startedAt/],
    ['a negative send lag', { maxSendLagMs: -1 }, /maxSendLagMs/],
    ['more outcomes than requests dispatched', { dispatched: 9 }, /10 outcomes .* exceed the 9 requests dispatched/],
    ['more dispatched and dropped than planned', { dropped: 1 }, /dispatched 10 \+ dropped 1 exceed the 10 planned/],
    ['more late sends than sends', { lateSends: 11 }, /lateSends 11 exceed/],
    ['a field only the merge sets', { missingAgents: ['x'] }, /missingAgents is set by the controller's merge/],
  ]
  it.each(cases)('refuses %s', (_name, overrides, problem) => {
    expect(windowProblems(valid(overrides)).join('; ')).toMatch(problem)
  })
})

describe('decodeLatency', () => {
  it('decodes what an agent encodes', () => {
    expect(decodeLatency(encodedOf(5)).totalCount).toBe(5)
  })
})

describe('checkReport', () => {
  /** A plan of 4 s of step 0 then 4 s of step 1 (a replan may give a second two possible steps). */
  const expectation = (
    delivered: Record<number, WindowReport> = {},
    stepsAt: Record<number, number[]> = {},
  ): ReportExpectation => ({
    stepsAt: (index) => stepsAt[index] ?? (index < 4 ? [0] : index < 8 ? [1] : []),
    delivered: (index) => delivered[index],
  })

  const cases: Array<[string, WindowReport[], ReportExpectation, RegExp | null]> = [
    ['a window of the plan', [valid()], expectation(), null],
    [
      'a window after the end of the plan',
      [valid({ index: 8 })],
      expectation(),
      /\/windows\/0\/index: window 8 is outside this agent's assignment/,
    ],
    [
      'a window with the wrong step',
      [valid({ step: 0 })],
      expectation(),
      /\/windows\/0\/step: window 5 belongs to step 1, not 0/,
    ],
    [
      'a step of either version of a replanned second',
      [valid({ index: 7, step: 2 })],
      expectation({}, { 7: [1, 2] }),
      null,
    ],
    ['a re-sent window equal to the stored one', [valid()], expectation({ 5: valid() }), null],
    [
      'a re-sent window that differs from the stored one',
      [valid({ ok: 7, latency: encodedOf(7) })],
      expectation({ 5: valid() }),
      /\/windows\/0: window 5 was already delivered with different content/,
    ],
    [
      'the same index twice in one report, different',
      [valid(), valid({ sent: 9 })],
      expectation(),
      /\/windows\/1: window 5 was already delivered/,
    ],
    ['the same index twice in one report, equal', [valid(), valid()], expectation(), null],
    [
      'a bad window after good ones (its path says which)',
      [valid({ index: 2, step: 0 }), valid({ latency: 'AAAA' })],
      expectation(),
      /\/windows\/1: latency is not a valid histogram/,
    ],
  ]
  it.each(cases)('%s', (_name, windows, expect_, problem) => {
    const problems = checkReport(windows, expect_).map((p) => `${p.path}: ${p.message}`)
    if (problem === null) expect(problems).toEqual([])
    else expect(problems.join('; ')).toMatch(problem)
  })
})

describe('checkReport: the decoded histograms it hands over', () => {
  it('hands over the histogram of each window that checked out, once, and none of one that did not', () => {
    const good = valid({ index: 5 })
    const wrongCount = valid({ index: 6, ok: 7, errors: { ...emptyErrorCounts(), timeout: 3 } })
    const garbage = valid({ index: 7, latency: 'AAAA' })
    const decoded: Array<[number, number]> = []
    checkReport([good, wrongCount, garbage], { stepsAt: () => [1], delivered: () => undefined }, (window, histogram) =>
      decoded.push([window.index, histogram.totalCount]),
    )
    expect(decoded).toEqual([[5, 8]])
  })
})
