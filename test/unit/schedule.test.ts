import { buildTimeline, intendedOffsetMs, plannedInWindow, scenarioStepEndS, windowOfSend } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'

describe('pacing schedule', () => {
  const timeline = buildTimeline([
    { rps: 200, durationS: 3, step: 0 },
    { rps: 0.5, durationS: 4, step: 1 },
    { rps: 333, durationS: 2, step: 2 },
  ])

  it('plans round(rps x duration) sends per step on consecutive whole seconds', () => {
    expect(timeline.map((s) => [s.startS, s.sends])).toEqual([
      [0, 600],
      [3, 2],
      [7, 666],
    ])
  })

  it.each([
    [0, 200],
    [2, 200],
    [3, 1],
    [4, 0],
    [5, 1],
    [6, 0],
    [7, 333],
    [8, 333],
    [9, 0],
  ])('window %i plans %i sends', (window, planned) => {
    expect(plannedInWindow(timeline, window)).toBe(planned)
  })

  it('the windows of a step add up to its sends', () => {
    for (const step of timeline) {
      let total = 0
      for (let w = step.startS; w < step.startS + step.durationS; w++) total += plannedInWindow(timeline, w)
      expect(total).toBe(step.sends)
    }
  })

  it.each([1, 3, 7, 200, 333.3, 1000, 0.5, 9999])(
    'assigns every send of a %s rps step to the window that plans it',
    (rps) => {
      const [step] = buildTimeline([{ rps, durationS: 4, step: 0 }])
      const counts = new Map<number, number>()
      for (let j = 0; j < step!.sends; j++) {
        const w = windowOfSend(step!, j)
        counts.set(w, (counts.get(w) ?? 0) + 1)
        // and that window really contains its intended time
        expect(Math.floor(intendedOffsetMs(step!, j) / 1000 + 1e-9)).toBe(w)
      }
      for (let w = 0; w < 4; w++) expect(counts.get(w) ?? 0).toBe(plannedInWindow([step!], w))
    },
  )

  it('spreads sends evenly: every 100 ms slice carries its share', () => {
    const step = timeline[0]!
    const slices = new Array(30).fill(0)
    for (let j = 0; j < step.sends; j++) slices[Math.floor(intendedOffsetMs(step, j) / 100)]++
    expect(new Set(slices)).toEqual(new Set([20]))
  })
})

describe('scenarioStepEndS: where the scenario step of an entry ends', () => {
  // Step 0 split in two (a replan mid-step), step 1 whole, step 0 again later (not consecutive: its own end).
  const timeline = buildTimeline([
    { rps: 10, durationS: 2, step: 0 },
    { rps: 15, durationS: 2, step: 0 },
    { rps: 20, durationS: 3, step: 1 },
    { rps: 5, durationS: 1, step: 0 },
  ])

  it.each([
    [0, 4],
    [1, 4],
    [2, 7],
    [3, 8],
    [4, 8],
  ])('entry %i: second %i', (index, endS) => {
    expect(scenarioStepEndS(timeline, index)).toBe(endS)
  })
})
