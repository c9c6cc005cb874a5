import {
  buildTimeline,
  plannedInWindow,
  replanTimeline,
  sendsBefore,
  stepAt,
  totalDurationS,
  windowOfSend,
  type PlannedStep,
  type ScheduledStep,
} from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { planFrom } from '../../apps/controller/src/agents/rate-split.js'

const round3 = (n: number): number => Math.round(n * 1000) / 1000
const scaled = (plan: readonly PlannedStep[], factor: number): PlannedStep[] =>
  plan.map((s) => ({ ...s, rps: round3(s.rps * factor) }))

const plans: Array<[string, PlannedStep[]]> = [
  ['one 33.333 rps step', [{ rps: 33.333, durationS: 6, step: 0 }]],
  [
    '33.333 then 66.667 then 1',
    [
      { rps: 33.333, durationS: 3, step: 0 },
      { rps: 66.667, durationS: 4, step: 1 },
      { rps: 1, durationS: 2, step: 2 },
    ],
  ],
  [
    'slow fractional rates',
    [
      { rps: 0.5, durationS: 5, step: 0 },
      { rps: 0.3, durationS: 4, step: 1 },
      { rps: 2.5, durationS: 3, step: 2 },
    ],
  ],
  [
    'fast rates and a zero step',
    [
      { rps: 200, durationS: 2, step: 0 },
      { rps: 0, durationS: 2, step: 1 },
      { rps: 333, durationS: 3, step: 2 },
      { rps: 7, durationS: 1, step: 3 },
    ],
  ],
  [
    'one scenario step already split in two',
    [
      { rps: 3.333, durationS: 4, step: 0 },
      { rps: 6.667, durationS: 3, step: 0 },
      { rps: 10, durationS: 3, step: 1 },
    ],
  ],
]
/** Tail rates relative to the plan: a survivor taking over (1.5x, 2x, 3x), a smaller share, or none. */
const factors = [0, 0.333, 1, 1.5, 2, 3]

const windows = (timeline: readonly ScheduledStep[]): number[] =>
  Array.from({ length: totalDurationS(timeline) }, (_, w) => plannedInWindow(timeline, w))
const sumSends = (timeline: readonly ScheduledStep[]): number => timeline.reduce((sum, s) => sum + s.sends, 0)

/** Every (plan, factor, fromS) combination, fromS from 0 to one past the end. */
const cases = plans.flatMap(([name, plan]) => {
  const total = plan.reduce((sum, s) => sum + s.durationS, 0)
  return factors.flatMap((factor) =>
    Array.from(
      { length: total + 2 },
      (_, fromS) => [`${name}, tail x${factor}, fromS ${fromS}`, plan, factor, fromS] as const,
    ),
  )
})

describe('replanTimeline', () => {
  it.each(cases)('%s', (_name, plan, factor, fromS) => {
    const before = buildTimeline(plan)
    const tail = planFrom(scaled(plan, factor), fromS)
    const after = replanTimeline(before, fromS, tail)
    const total = totalDurationS(before)

    // Windows before fromS plan exactly what they planned before.
    for (let w = 0; w < Math.min(fromS, total); w++)
      expect(plannedInWindow(after, w), `window ${w}`).toBe(plannedInWindow(before, w))

    // The tail covers the rest, so the run keeps its length.
    expect(totalDurationS(after)).toBe(total)

    // From fromS on, windows follow the tail's rate, as if the tail were a timeline starting at fromS.
    const tailTimeline = buildTimeline(tail)
    for (let w = fromS; w < total; w++)
      expect(plannedInWindow(after, w), `window ${w}`).toBe(plannedInWindow(tailTimeline, w - fromS))
    for (const entry of after.filter((s) => s.startS >= fromS))
      expect(entry.rps).toBe(tail[entry.index - (after.length - tail.length)]!.rps)

    // Every window keeps its scenario step, including both halves of a step cut at fromS.
    for (let w = 0; w < total; w++) expect(stepAt(after, w)?.step, `window ${w}`).toBe(stepAt(before, w)?.step)

    // Window totals add up to the steps' sends.
    expect(windows(after).reduce((a, b) => a + b, 0)).toBe(sumSends(after))

    // Entries are consecutive, indexed in order, and never empty.
    after.forEach((entry, i) => {
      expect(entry.index).toBe(i)
      expect(entry.durationS).toBeGreaterThanOrEqual(1)
      if (i > 0) expect(entry.startS).toBe(after[i - 1]!.startS + after[i - 1]!.durationS)
    })
  })

  it.each(cases)('%s: every send lies in a window that counts it', (_name, plan, factor, fromS) => {
    const after = replanTimeline(buildTimeline(plan), fromS, planFrom(scaled(plan, factor), fromS))
    const counted = new Map<number, number>()
    for (const entry of after) {
      for (let j = 0; j < entry.sends; j++) {
        const w = windowOfSend(entry, j)
        expect(w).toBeGreaterThanOrEqual(entry.startS)
        expect(w).toBeLessThan(entry.startS + entry.durationS)
        counted.set(w, (counted.get(w) ?? 0) + 1)
      }
    }
    windows(after).forEach((planned, w) => expect(counted.get(w) ?? 0, `window ${w}`).toBe(planned))
  })

  it('a step cut mid-way keeps the sends intended before the cut, under the same step tag', () => {
    const before = buildTimeline([
      { rps: 33.333, durationS: 3, step: 0 },
      { rps: 66.667, durationS: 4, step: 1 },
    ])
    const after = replanTimeline(before, 5, [{ rps: 100, durationS: 2, step: 1 }])
    expect(
      after.map((s) => ({ step: s.step, rps: s.rps, startS: s.startS, durationS: s.durationS, sends: s.sends })),
    ).toEqual([
      { step: 0, rps: 33.333, startS: 0, durationS: 3, sends: 100 },
      { step: 1, rps: 66.667, startS: 3, durationS: 2, sends: sendsBefore(before[1]!, 5) },
      { step: 1, rps: 100, startS: 5, durationS: 2, sends: 200 },
    ])
    expect(sendsBefore(before[1]!, 5)).toBe(134) // ceil(2 x 66.667)
    expect([3, 4].map((w) => plannedInWindow(after, w))).toEqual([67, 67])
    expect([5, 6].map((w) => plannedInWindow(after, w))).toEqual([100, 100])
  })

  it('replanning at 0 replaces the whole timeline', () => {
    const tail: PlannedStep[] = [{ rps: 66.667, durationS: 3, step: 0 }]
    const after = replanTimeline(buildTimeline([{ rps: 33.333, durationS: 3, step: 0 }]), 0, tail)
    expect(after).toEqual(buildTimeline(tail))
  })

  it('replanning past the end keeps the timeline as it was', () => {
    const before = buildTimeline([
      { rps: 33.333, durationS: 3, step: 0 },
      { rps: 66.667, durationS: 2, step: 1 },
    ])
    expect(replanTimeline(before, 5, [])).toEqual(before)
    expect(replanTimeline(before, 9, [])).toEqual(before)
  })

  it('replanning twice (a second loss) keeps every earlier window', () => {
    const plan: PlannedStep[] = [
      { rps: 33.333, durationS: 4, step: 0 },
      { rps: 66.667, durationS: 4, step: 1 },
    ]
    const original = buildTimeline(plan)
    const once = replanTimeline(original, 3, planFrom(scaled(plan, 1.5), 3))
    const secondTail = planFrom(scaled(plan, 3), 6)
    const twice = replanTimeline(once, 6, secondTail)
    for (let w = 0; w < 3; w++) expect(plannedInWindow(twice, w)).toBe(plannedInWindow(original, w))
    for (let w = 3; w < 6; w++) expect(plannedInWindow(twice, w)).toBe(plannedInWindow(once, w))
    expect(secondTail).toEqual([{ rps: 200.001, durationS: 2, step: 1 }])
    for (let w = 6; w < 8; w++)
      expect(plannedInWindow(twice, w)).toBe(plannedInWindow(buildTimeline(secondTail), w - 6))
    expect(plannedInWindow(twice, 6) + plannedInWindow(twice, 7)).toBe(400)
    expect(twice.map((s) => s.step)).toEqual([0, 0, 1, 1])
    expect(totalDurationS(twice)).toBe(8)
    expect(windows(twice).reduce((a, b) => a + b, 0)).toBe(sumSends(twice))
  })

  it('does not modify the timeline it replans', () => {
    const before = buildTimeline([{ rps: 33.333, durationS: 5, step: 0 }])
    const copy = structuredClone(before)
    replanTimeline(before, 2, [{ rps: 66.667, durationS: 3, step: 0 }])
    expect(before).toEqual(copy)
  })
})
