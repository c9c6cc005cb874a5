// The one chart-data builder of the HTML report and the run page, from window JSON with `latencyMs` (what
// the API sends; the report computes the same from each histogram).
import { decodeHistogram, summarizeLatency } from '@gauntlet/metrics'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildChartData, type RunWindow } from '@gauntlet/chart-data'
import { scriptedRun, window, type ScriptedRun } from '../fixtures/junit/scripted-runs.js'

/** What GET /api/runs/:id/windows and the event stream send: the window and its merged percentiles. */
const withLatency = (w: ScriptedRun['windows'][number]): RunWindow => ({
  ...w,
  latencyMs: summarizeLatency(decodeHistogram(w.latency)),
})

// Step 2 answers 15% 500s with slower answers: thresholds fail, the abort guard trips and rolls back,
// the dry-run guard would have; paced so the step gates run and leave their decisions.
const yaml = `name: charted
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
decision:
  guards:
    - { name: errors, kind: abort, require: "error_rate < 5%", minSamples: 200 }
    - { name: shadow, kind: abort, require: "p50 < 4ms", minSamples: 200, dryRun: true }
`

describe('dashboard chart data', () => {
  let run: ScriptedRun
  beforeAll(async () => {
    run = await scriptedRun(
      yaml,
      (i, step) => (step === 1 ? { ok: 340, errors: 60, latencyMs: [3, 9, 40] } : { ok: 200, latencyMs: [2, 5 + i] }),
      { paced: true },
    )
  }, 20_000)

  it("draws each second's percentiles and errors, the steps from their windows, and every kind of decision", () => {
    const { summary, windows } = run
    expect(windows.length).toBeGreaterThan(2)
    const data = buildChartData({
      windows: windows.map(withLatency),
      steps: summary.steps,
      decisions: summary.decisions ?? [],
      faults: summary.faults ?? [],
      rollback: summary.rollback,
      startedAt: summary.startedAt,
    })
    expect(data.seconds.t).toEqual(windows.map((w) => w.index))
    // Step 2's seconds: 60 of 400 answered 500, and its p99 is the slow answers' 40 ms (to the histogram's precision).
    const second = windows.findIndex((w) => w.step === 1)
    expect(data.seconds.errors['5xx'][second]).toBe(60)
    expect(data.seconds.completed[second]).toBe(400)
    expect(data.seconds.p99[second]).toBeCloseTo(40, 0)
    expect(data.seconds.p50[0]).toBeCloseTo(2, 0)
    expect(data.steps.map((s) => [s.index, s.startS, s.endS])).toEqual(
      summary.steps.map((s) => {
        const own = windows.filter((w) => w.step === s.index).map((w) => w.index)
        return [s.index, Math.min(...own), Math.max(...own) + 1]
      }),
    )
    // The abort guard's trip, the dry-run guard's "would have", the rollback: each a mark, in time order.
    const kinds = data.marks.map((m) => m.kind)
    expect(kinds).toEqual(expect.arrayContaining(['trip', 'dry-run', 'rollback']))
    expect(data.marks.map((m) => m.atS)).toEqual([...data.marks.map((m) => m.atS)].sort((a, b) => a - b))
  })

  it('keeps one copy per window index, in index order, whatever order and repeats they came in', () => {
    const { summary, windows, report } = run
    const sent = windows.map(withLatency)
    // A replay after a reconnect repeats windows; a page and the stream may overlap.
    const messy = [...sent.slice(2), ...sent, ...sent.slice(0, 2).reverse()]
    const data = buildChartData({
      windows: messy,
      steps: summary.steps,
      decisions: summary.decisions ?? [],
      faults: [],
      startedAt: summary.startedAt,
    })
    expect(data.seconds.t).toEqual(windows.map((w) => w.index))
    expect(data.seconds).toEqual(report.chart.seconds)
  })

  it('while running: the current step is a span without verdict, and a window without percentiles is a gap', () => {
    const w0 = withLatency(window(0, 0, { ok: 10, latencyMs: 4 }))
    const w1 = withLatency(window(1, 0, { ok: 10, latencyMs: 6 }))
    const w2 = window(2, 1, { ok: 0, errors: 3 })
    const data = buildChartData({
      windows: [w0, w1, w2],
      steps: [],
      decisions: [],
      faults: [],
      startedAt: new Date(w0.startedAt).toISOString(),
    })
    expect(data.steps).toEqual([
      { index: 0, plannedRps: 10, startS: 0, endS: 2, verdict: null },
      { index: 1, plannedRps: 3, startS: 2, endS: 3, verdict: null },
    ])
    expect(data.seconds.p50).toEqual([w0.latencyMs!.p50Ms, w1.latencyMs!.p50Ms, null])
    expect(data.seconds.p50[0]).toBeCloseTo(4, 1)
    expect(data.seconds.errors['5xx']).toEqual([0, 0, 3])
    expect(data.seconds.completed).toEqual([10, 10, 3])
  })
})
