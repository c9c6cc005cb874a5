import { buildTimeline, scenarioPlan, type PlannedStep } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { apportion, planFrom, splitPlan } from '../../apps/controller/src/agents/rate-split.js'

describe('scenarioPlan', () => {
  it('tags each step with its scenario index and keeps rate and duration', () => {
    const steps = [
      { rps: 10, durationS: 5 },
      { rps: 0.5, durationS: 2 },
      { rps: 33.333, durationS: 7 },
    ]
    expect(scenarioPlan({ steps })).toEqual([
      { rps: 10, durationS: 5, step: 0 },
      { rps: 0.5, durationS: 2, step: 1 },
      { rps: 33.333, durationS: 7, step: 2 },
    ])
  })

  it('returns an empty plan for no steps', () => {
    expect(scenarioPlan({ steps: [] })).toEqual([])
  })
})

describe('planFrom', () => {
  const plan: PlannedStep[] = [
    { rps: 10, durationS: 5, step: 0 },
    { rps: 20, durationS: 3, step: 1 },
    { rps: 5, durationS: 2, step: 2 },
  ]

  it.each<[string, number, PlannedStep[]]>([
    ['from 0: the whole plan', 0, plan],
    [
      'cut mid first step',
      2,
      [
        { rps: 10, durationS: 3, step: 0 },
        { rps: 20, durationS: 3, step: 1 },
        { rps: 5, durationS: 2, step: 2 },
      ],
    ],
    [
      'one second before a boundary',
      4,
      [
        { rps: 10, durationS: 1, step: 0 },
        { rps: 20, durationS: 3, step: 1 },
        { rps: 5, durationS: 2, step: 2 },
      ],
    ],
    [
      'at a step boundary',
      5,
      [
        { rps: 20, durationS: 3, step: 1 },
        { rps: 5, durationS: 2, step: 2 },
      ],
    ],
    [
      'cut mid second step',
      6,
      [
        { rps: 20, durationS: 2, step: 1 },
        { rps: 5, durationS: 2, step: 2 },
      ],
    ],
    ['at the last boundary', 8, [{ rps: 5, durationS: 2, step: 2 }]],
    ['in the last second', 9, [{ rps: 5, durationS: 1, step: 2 }]],
    ['at the end', 10, []],
    ['past the end', 11, []],
    ['far past the end', 10_000, []],
  ])('%s (fromS=%i)', (_name, fromS, expected) => {
    expect(planFrom(plan, fromS)).toEqual(expected)
  })

  it('the tail covers exactly the seconds from fromS to the end', () => {
    const total = plan.reduce((sum, s) => sum + s.durationS, 0)
    for (let fromS = 0; fromS <= total + 2; fromS++) {
      const tail = planFrom(plan, fromS)
      expect(tail.reduce((sum, s) => sum + s.durationS, 0)).toBe(Math.max(0, total - fromS))
      expect(tail.every((s) => s.durationS >= 1)).toBe(true)
    }
  })

  it('does not modify the plan it cuts', () => {
    const copy = structuredClone(plan)
    planFrom(plan, 6)
    expect(plan).toEqual(copy)
  })
})

describe('splitPlan', () => {
  const rates = [
    0, 0.001, 0.002, 0.5, 1, 2, 3, 3.3, 7, 10, 33.333, 66.667, 99.999, 100, 1000, 12_345.678, 999_999.999, 1_000_000,
  ]
  const capacityVectors: Array<[string, number[]]> = [
    ['1 agent', [500]],
    ['3 equal agents', [1, 1, 1]],
    ['3 unequal agents', [100, 200, 700]],
    ['3 fractional capacities', [0.5, 1.25, 3.333]],
    ['7 equal agents', [7, 7, 7, 7, 7, 7, 7]],
    ['7 agents 1..7', [1, 2, 3, 4, 5, 6, 7]],
    ['7 very unequal agents', [5000, 1, 250, 0.1, 99, 1, 3]],
    ['2 agents, huge then tiny', [1_000_000, 1]],
    ['2 agents, tiny then huge', [1, 1_000_000]],
    ['3 agents, tiny in the middle', [1000, 0.01, 1000]],
    ['7 agents, the last tiny', [1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1]],
  ]
  const plan: PlannedStep[] = rates.map((rps, i) => ({ rps, durationS: 1 + (i % 4), step: i }))
  /** Sends an agent plans for an entry, as its generator counts them. */
  const sendsOf = (entry: PlannedStep): number => buildTimeline([entry])[0]!.sends

  it.each(capacityVectors)('%s: the agents together plan exactly the sends of every step', (_name, capacities) => {
    const shares = splitPlan(plan, capacities)
    expect(shares).toHaveLength(capacities.length)
    plan.forEach((entry, k) => {
      const parts = shares.map((agentPlan) => agentPlan[k]!)
      for (const part of parts) expect(part.rps).toBeGreaterThanOrEqual(0)
      expect(
        parts.reduce((sum, p) => sum + sendsOf(p), 0),
        `step ${k} (${entry.rps} rps)`,
      ).toBe(sendsOf(entry))
    })
  })

  it.each(capacityVectors)(
    '%s: each agent plans its capacity share of the sends, within one request',
    (_name, capacities) => {
      const total = capacities.reduce((sum, c) => sum + c, 0)
      const shares = splitPlan(plan, capacities)
      plan.forEach((entry, k) => {
        capacities.forEach((capacity, agent) => {
          const exact = (sendsOf(entry) * capacity) / total
          expect(Math.abs(sendsOf(shares[agent]![k]!) - exact), `agent ${agent}, step ${k}`).toBeLessThan(1)
        })
      })
    },
  )

  it.each(capacityVectors)('%s: every share keeps the step tags and durations', (_name, capacities) => {
    for (const agentPlan of splitPlan(plan, capacities)) {
      expect(agentPlan.map((s) => [s.step, s.durationS])).toEqual(plan.map((s) => [s.step, s.durationS]))
    }
  })

  it('a single agent takes the whole plan, rates untouched', () => {
    expect(splitPlan(plan, [42])).toEqual([plan])
  })

  it('splits 10 rps for 60 s over 3 equal agents as 200 sends each', () => {
    const shares = splitPlan([{ rps: 10, durationS: 60, step: 4 }], [1, 1, 1])
    expect(shares.map((s) => sendsOf(s[0]!))).toEqual([200, 200, 200])
    expect(shares.every((s) => s[0]!.step === 4 && s[0]!.durationS === 60)).toBe(true)
  })

  it('splits 100 rps as 1:3 into 25 and 75', () => {
    const shares = splitPlan([{ rps: 100, durationS: 1, step: 0 }], [100, 300])
    expect(shares.map((s) => s[0]!.rps)).toEqual([25, 75])
  })

  it('does not modify the plan it splits', () => {
    const copy = structuredClone(plan)
    splitPlan(plan, [1, 2, 3])
    expect(plan).toEqual(copy)
  })

  it('1 rps for 10 s over 3 agents: 4 + 3 + 3 sends, never 3 + 3 + 3', () => {
    const shares = splitPlan([{ rps: 1, durationS: 10, step: 0 }], [1, 1, 1])
    expect(shares.map((s) => sendsOf(s[0]!))).toEqual([4, 3, 3])
  })
})

describe('apportion', () => {
  it.each<[number, number[], number[]]>([
    [10, [1, 1, 1], [4, 3, 3]],
    [0, [1, 2], [0, 0]],
    [7, [1], [7]],
    [1000, [1e6, 1e6, 1e6, 1e6, 1e6, 1e6, 1], [167, 167, 167, 167, 166, 166, 0]],
    [5, [0.1, 0.1, 1000], [0, 0, 5]],
  ])('%i over %j -> %j', (total, weights, expected) => {
    const parts = apportion(total, weights)
    expect(parts).toEqual(expected)
    expect(parts.reduce((a, b) => a + b, 0)).toBe(total)
  })
})
