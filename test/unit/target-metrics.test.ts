import { describe, expect, it } from 'vitest'
import { judgeShape, seriesShape, type SeriesPoint } from '../../apps/controller/src/decision/leak.js'

/** A series judged as a run judges it: its shape around the load, then the leak rule on that shape. */
const judgeLeak = (points: readonly SeriesPoint[], limit: number, loadEndS: number) =>
  judgeShape(seriesShape(points, loadEndS), limit)
import { parsePrometheusText } from '../../apps/controller/src/target-metrics/prometheus-text.js'
import { parseGrowth } from '../../apps/controller/src/scenario/thresholds.js'

describe('Prometheus text', () => {
  const text = `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 5.24288e+07
http_requests_in_flight{handler="/a"} 3
http_requests_in_flight{handler="/b",code="200"} 4 1700000000000
weird_metric NaN
broken line here
`
  it('reads the named series, summing label sets, with exponents and timestamps', () => {
    const values = parsePrometheusText(text, [
      'go_goroutines',
      'process_resident_memory_bytes',
      'http_requests_in_flight',
      'absent_metric',
    ])
    expect(Object.fromEntries(values)).toEqual({
      go_goroutines: 42,
      process_resident_memory_bytes: 52428800,
      http_requests_in_flight: 7,
    })
  })
  it('skips comments, unparsable lines and NaN', () => {
    expect(parsePrometheusText(text, ['weird_metric', 'broken']).size).toBe(0)
  })
})

describe('leak judgement', () => {
  /** Pre-load points at -0.6..-0.2 s, then one per second from 0; the load ends at `end` seconds. */
  const series = (pre: number[], during: number[]): SeriesPoint[] => [
    ...pre.map((value, i) => ({ atS: -0.6 + i * 0.2, value })),
    ...during.map((value, i) => ({ atS: i, value })),
  ]

  it.each([
    ['steady', series([100, 100, 100], [101, 102, 100, 101, 100, 101]), 'pass', 'grew at most 2%'],
    [
      'grows under load and comes back (a cache, a lazy GC)',
      series([100, 101, 99], [120, 160, 170, 130, 105, 102]),
      'pass',
      'grew 70% under load and came back to +3.5%',
    ],
    [
      'grows and stays: a leak',
      series([100, 100, 100], [100, 100, 130, 160, 190, 190]),
      'fail',
      'grew 90% (peak at second 4) and was still +90% after the load; growing since second 2',
    ],
    [
      'grows, falls back only part of the way: still a leak',
      series([100, 100, 100], [150, 200, 180, 170, 160, 160]),
      'fail',
      'still +60% after the load',
    ],
  ])('%s', (_name, points, verdict, reason) => {
    const judged = judgeLeak(points, 0.2, 4)
    expect(judged.verdict).toBe(verdict)
    expect(judged.reason).toContain(reason)
  })

  it('no scrape before the load, or none after it, is INSUFFICIENT: a leak cannot be ruled out', () => {
    expect(judgeLeak(series([], [100, 200, 300]), 0.2, 1).verdict).toBe('insufficient')
    expect(judgeLeak(series([100], [100, 200, 300]), 0.2, 10)).toMatchObject({
      verdict: 'insufficient',
      reason: 'no scrape after the load: cannot tell whether it came back',
    })
  })

  it('the growth condition names its series and is a percentage', () => {
    expect(parseGrowth('go_goroutines growth < 20%')).toEqual({
      ok: true,
      condition: { source: 'go_goroutines growth < 20%', series: 'go_goroutines', operator: '<', limit: 0.2 },
    })
    expect(parseGrowth('go_goroutines growth < 20')).toMatchObject({
      ok: false,
      message: expect.stringContaining('give it in %') as string,
    })
    expect(parseGrowth('go_goroutines > 20%')).toMatchObject({
      ok: false,
      message: expect.stringContaining('expected "<series> growth < <percent>%"') as string,
    })
  })
})
