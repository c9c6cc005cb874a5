import type { PlannedStep, WindowReport } from '@gauntlet/contracts'
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeEncoded,
  recordLatencyUs,
  summarizeLatency,
  type LatencyCounts,
} from '@gauntlet/metrics'
import * as hdr from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import { DistributedRun } from '../../apps/controller/src/agents/distributed-run.js'
import { decodeLatency } from '../../apps/controller/src/agents/report-check.js'
import { bucket } from '../helpers/buckets.js'

// The controller merges each second's histograms as the agents' windows arrive (reusing the report check's
// decode) instead of decoding and merging them all when the second completes. What it emits must be
// exactly what a one-shot mergeEncoded of the same windows gives.

const T0 = 1_700_000_000_000
/** 80 windows: more than the 64 seconds ahead that are merged on arrival. */
const plan: PlannedStep[] = [
  { rps: 50, durationS: 40, step: 0 },
  { rps: 90, durationS: 40, step: 1 },
]
const agents = ['a', 'b', 'c', 'd', 'e']

/** A deterministic pseudo-random source, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
}

/** A window with a histogram of its own shape (latencies from 50 µs to ~40 s, a long tail on some). */
function windowOf(agent: number, index: number, next: () => number): WindowReport {
  const count = 1 + Math.floor(next() * 400)
  const medianUs = 50 + ((agent * 37 + index * 11) % 40) * 500
  const latenciesUs = Array.from({ length: count }, () =>
    next() < 0.02 ? medianUs * (100 + 2000 * next()) : medianUs * (0.5 + next()),
  )
  return bucket(index, { step: index < 40 ? 0 : 1, startedAt: T0 + index * 1000 + agent, latenciesUs })
}

/** Every agent's windows in a shuffled order of delivery: reports of 1 to 20 windows, interleaved. */
function deliveries(seed: number): Array<{ agent: string; windows: WindowReport[] }> {
  const next = random(seed)
  const queues = agents.map((_, a) => Array.from({ length: 80 }, (_, i) => windowOf(a, i, next)))
  const reports: Array<{ agent: string; windows: WindowReport[] }> = []
  // Agent a sends everything at once first: most of its windows are far ahead of the next second to merge.
  reports.push({ agent: 'a', windows: queues[0]!.splice(0) })
  while (queues.some((q) => q.length > 0)) {
    const a = Math.floor(next() * agents.length)
    const size = 1 + Math.floor(next() * 20)
    if (queues[a]!.length > 0) reports.push({ agent: agents[a]!, windows: queues[a]!.splice(0, size) })
  }
  return reports
}

function run(seed: number, decoded: 'check' | 'none') {
  const emitted: WindowReport[] = []
  const session = new DistributedRun(
    plan,
    agents.map((name) => ({ name, capacityRps: 100 })),
    T0,
    (w) => emitted.push(w),
  )
  const all = deliveries(seed)
  for (const report of all) {
    const histograms = new Map<WindowReport, LatencyCounts>()
    if (decoded === 'check') for (const w of report.windows) histograms.set(w, decodeLatency(w.latency))
    session.ingest(report.agent, { windows: report.windows }, (w) => histograms.get(w))
  }
  const byIndex = new Map<number, string[]>()
  for (const report of all)
    for (const w of report.windows) byIndex.set(w.index, [...(byIndex.get(w.index) ?? []), w.latency])
  return { emitted, byIndex }
}

describe('incremental merge of agents\u2019 latency', () => {
  for (const seed of [1, 7, 42]) {
    for (const decoded of ['check', 'none'] as const) {
      it(`emits exactly a one-shot mergeEncoded of each second's windows (seed ${seed}, decodes given: ${decoded})`, () => {
        const { emitted, byIndex } = run(seed, decoded)
        expect(emitted.map((w) => w.index)).toEqual(Array.from({ length: 80 }, (_, i) => i))
        for (const w of emitted) {
          const parts = byIndex.get(w.index)!
          expect(parts).toHaveLength(agents.length)
          // Bit-identical: the same encoded string as merging them all at once.
          expect(w.latency).toBe(encodeHistogram(mergeEncoded(parts)))
          expect(w.ok).toBe(decodeHistogram(w.latency).totalCount)
        }
      })
    }
  }

  it('a window merged on arrival is merged once, even when its agent sends it again', () => {
    const emitted: WindowReport[] = []
    const session = new DistributedRun(
      plan,
      [
        { name: 'a', capacityRps: 100 },
        { name: 'b', capacityRps: 100 },
      ],
      T0,
      (w) => emitted.push(w),
    )
    const next = random(3)
    const a0 = windowOf(0, 0, next)
    const b0 = windowOf(1, 0, next)
    session.ingest('a', { windows: [a0] }, () => decodeLatency(a0.latency))
    session.ingest('a', { windows: [a0] }, () => decodeLatency(a0.latency))
    session.ingest('b', { windows: [b0] }, () => decodeLatency(b0.latency))
    expect(emitted).toHaveLength(1)
    expect(emitted[0]!.latency).toBe(encodeHistogram(mergeEncoded([a0.latency, b0.latency])))
    expect(decodeHistogram(emitted[0]!.latency).totalCount).toBe(a0.ok + b0.ok)
  })
})

describe('decodeLatency (the report check\u2019s decode)', () => {
  const shapes: Array<[string, number[]]> = [
    ['one value', [1234]],
    ['a spread', Array.from({ length: 500 }, (_, i) => 100 + i * i * 7)],
    ['a long tail', [...Array.from({ length: 300 }, () => 2000), 3_599_000_000]],
  ]
  for (const [name, valuesUs] of shapes) {
    it(`gives the counts, percentiles and merges of the full-range decode (${name})`, () => {
      const h = createLatencyHistogram()
      for (const us of valuesUs) recordLatencyUs(h, us)
      const encoded = encodeHistogram(h)
      const compact = decodeLatency(encoded)
      const full = decodeHistogram(encoded)
      expect(compact.totalCount).toBe(full.totalCount)
      expect(compact.summarize()).toEqual(summarizeLatency(full))
      const viaCompact = createLatencyHistogram()
      compact.addTo(viaCompact)
      expect(encodeHistogram(viaCompact)).toBe(encodeHistogram(mergeEncoded([encoded])))
    })
  }

  it('copies a histogram of another precision into the canonical shape (its percentiles as before)', () => {
    const coarse = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 2,
      bitBucketSize: 64,
    })
    for (let i = 0; i < 200; i++) coarse.recordValue(1000 + i * 37)
    const encoded = hdr.encodeIntoCompressedBase64(coarse)
    expect(decodeLatency(encoded).summarize()).toEqual(summarizeLatency(decodeHistogram(encoded)))
  })
})
