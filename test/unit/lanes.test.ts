import {
  buildTimeline,
  intendedOffsetMs,
  laneIntendedOffsetMs,
  lanePlannedInWindow,
  laneSends,
  laneSendsBefore,
  laneShare,
  laneWindowOfSend,
  plannedInWindow,
  replanTimeline,
  sendsBefore,
  totalDurationS,
  windowOfSend,
  wholeSchedule,
  type Lane,
  type PlannedStep,
  type ScheduledStep,
} from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'

const plans: Array<[string, PlannedStep[]]> = [
  ['one 200 rps step', [{ rps: 200, durationS: 3, step: 0 }]],
  [
    'fractional and slow rates',
    [
      { rps: 33.333, durationS: 3, step: 0 },
      { rps: 0.5, durationS: 5, step: 1 },
      { rps: 2.5, durationS: 3, step: 2 },
    ],
  ],
  [
    'a zero step between fast ones (sends not divisible by the lanes)',
    [
      { rps: 1001, durationS: 2, step: 0 },
      { rps: 0, durationS: 1, step: 1 },
      { rps: 7, durationS: 1, step: 2 },
    ],
  ],
]
const laneCounts = [1, 2, 3, 4, 7]
const lanesOf = (count: number): Lane[] => Array.from({ length: count }, (_, index) => ({ index, count }))

/** Every intended offset of the timeline, one lane's sends numbered within the lane. */
const laneOffsets = (timeline: readonly ScheduledStep[], lane: Lane): number[] =>
  timeline.flatMap((step) =>
    Array.from({ length: laneSends(step, lane) }, (_, l) => laneIntendedOffsetMs(step, l, lane)),
  )

describe.each(plans)('lanes of %s', (_name, plan) => {
  const timeline = buildTimeline(plan)
  const whole = timeline.flatMap((step) => Array.from({ length: step.sends }, (_, j) => intendedOffsetMs(step, j)))

  it.each(laneCounts)('%i lanes: together they send exactly the one-lane schedule, each send once', (count) => {
    const union = lanesOf(count)
      .flatMap((lane) => laneOffsets(timeline, lane))
      .sort((a, b) => a - b)
    expect(union).toEqual([...whole].sort((a, b) => a - b))
  })

  it.each(laneCounts)("%i lanes: each window's planned counts add up to the one-lane count", (count) => {
    for (let w = 0; w < totalDurationS(timeline) + 1; w++) {
      const byLane = lanesOf(count).map((lane) => lanePlannedInWindow(timeline, w, lane))
      expect(
        byLane.reduce((a, b) => a + b, 0),
        `window ${w}`,
      ).toBe(plannedInWindow(timeline, w))
      // Dealt round-robin: no lane has more than one send more than another in a window.
      expect(Math.max(...byLane) - Math.min(...byLane), `window ${w}`).toBeLessThanOrEqual(1)
    }
  })

  it.each(laneCounts)('%i lanes: a send lies in the window of its global send, as planned counts say', (count) => {
    for (const lane of lanesOf(count)) {
      const perWindow = new Map<number, number>()
      for (const step of timeline)
        for (let l = 0; l < laneSends(step, lane); l++) {
          const w = laneWindowOfSend(step, l, lane)
          expect(w).toBe(windowOfSend(step, l * count + lane.index))
          // Its intended time lies in that window, give or take floating point at the boundary.
          expect(laneIntendedOffsetMs(step, l, lane)).toBeGreaterThanOrEqual(w * 1000 - 1e-6)
          expect(laneIntendedOffsetMs(step, l, lane)).toBeLessThan((w + 1) * 1000 + 1e-6)
          perWindow.set(w, (perWindow.get(w) ?? 0) + 1)
        }
      for (let w = 0; w < totalDurationS(timeline); w++)
        expect(perWindow.get(w) ?? 0, `lane ${lane.index} window ${w}`).toBe(lanePlannedInWindow(timeline, w, lane))
    }
  })

  it.each(laneCounts)('%i lanes: sends before any moment add up (the overdue and drop counts)', (count) => {
    for (const step of timeline)
      for (let t = step.startS - 0.5; t <= step.startS + step.durationS + 0.5; t += 0.137) {
        const byLane = lanesOf(count).map((lane) => laneSendsBefore(step, t, lane))
        expect(byLane.reduce((a, b) => a + b, 0)).toBe(sendsBefore(step, t))
      }
  })

  it('after a replan, the lanes of the new timeline still add up window by window', () => {
    const replanned = replanTimeline(timeline, 1, [{ rps: 77, durationS: 2, step: 9 }])
    for (let w = 0; w < totalDurationS(replanned); w++) {
      const sum = lanesOf(3).reduce((n, lane) => n + lanePlannedInWindow(replanned, w, lane), 0)
      expect(sum).toBe(plannedInWindow(replanned, w))
    }
  })

  it('the whole schedule as one lane is the one-lane arithmetic itself', () => {
    for (const step of timeline) {
      expect(laneSends(step, wholeSchedule)).toBe(step.sends)
      for (let j = 0; j < step.sends; j++) {
        expect(laneIntendedOffsetMs(step, j, wholeSchedule)).toBe(intendedOffsetMs(step, j))
        expect(laneWindowOfSend(step, j, wholeSchedule)).toBe(windowOfSend(step, j))
      }
    }
  })
})

describe('laneShare', () => {
  it.each<[number, Lane, number]>([
    [0, { index: 0, count: 2 }, 0],
    [1, { index: 0, count: 2 }, 1],
    [1, { index: 1, count: 2 }, 0],
    [5, { index: 0, count: 2 }, 3],
    [5, { index: 1, count: 2 }, 2],
    [7, { index: 6, count: 7 }, 1],
    [6, { index: 6, count: 7 }, 0],
  ])('of the first %i sends, lane %j takes %i', (n, lane, expected) => {
    expect(laneShare(n, lane)).toBe(expected)
  })
})

describe('100 ms slices of two lanes', () => {
  it('at 1000 rps the two lanes interleave so every slice holds its share (100 sends, 50 from each)', () => {
    const [step] = buildTimeline([{ rps: 1000, durationS: 1, step: 0 }])
    const slices = Array.from({ length: 10 }, () => [0, 0])
    for (const lane of lanesOf(2))
      for (let l = 0; l < laneSends(step!, lane); l++)
        slices[Math.floor(laneIntendedOffsetMs(step!, l, lane) / 100)]![lane.index]!++
    expect(slices).toEqual(Array.from({ length: 10 }, () => [50, 50]))
  })
})
