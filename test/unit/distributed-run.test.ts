import {
  buildTimeline,
  emptyErrorCounts,
  plannedInWindow,
  type AgentReport,
  type PlannedStep,
  type WindowReport,
} from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { DistributedRun, type Redistribution } from '../../apps/controller/src/agents/distributed-run.js'
import { planFrom, splitPlan } from '../../apps/controller/src/agents/rate-split.js'

const T0 = 1_700_000_000_000
const emptyLatency = encodeHistogram(createLatencyHistogram())

/** 8 windows: 10 rps for 4 s (step 0), then 30 rps for 4 s (step 1). */
const plan: PlannedStep[] = [
  { rps: 10, durationS: 4, step: 0 },
  { rps: 30, durationS: 4, step: 1 },
]
/** 8 windows of fractional rates. */
const fractionalPlan: PlannedStep[] = [
  { rps: 33.333, durationS: 4, step: 0 },
  { rps: 66.667, durationS: 4, step: 1 },
]

function win(index: number, opts: Partial<WindowReport> = {}): WindowReport {
  return {
    index,
    step: index < 4 ? 0 : 1,
    startedAt: T0 + index * 1000 + 2,
    planned: 0,
    sent: 1,
    dispatched: 1,
    dropped: 0,
    ok: 1,
    errors: emptyErrorCounts(),
    latency: emptyLatency,
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: true,
    openConnections: 1,
    ...opts,
  }
}
const windows = (...indexes: number[]): Pick<AgentReport, 'windows'> => ({ windows: indexes.map((i) => win(i)) })
const done = (peakConnections = 0): Pick<AgentReport, 'windows' | 'done'> => ({
  windows: [],
  done: { aborted: false, peakConnections },
})

function setup(agents: Array<[string, number]>, runPlan: PlannedStep[] = plan) {
  const shares = splitPlan(
    runPlan,
    agents.map(([, capacity]) => capacity),
  )
  const emitted: WindowReport[] = []
  const run = new DistributedRun(
    runPlan,
    agents.map(([name, capacityRps]) => ({ name, capacityRps })),
    T0,
    (w) => emitted.push(w),
  )
  const whole = buildTimeline(runPlan)
  /** What the scenario plans for window w: a merged window plans this whoever was meant to send it. */
  const plannedAt = (w: number): number => plannedInWindow(whole, w)
  return { run, emitted, shares, plannedAt, indexes: () => emitted.map((w) => w.index) }
}

/** Sends a plan entry makes, as a generator counts them. */
const sendsOf = (entry: PlannedStep): number => buildTimeline([entry])[0]!.sends

describe('DistributedRun: merging in order', () => {
  it('emits a window only once every owing agent delivered it, in index order', () => {
    const { run, emitted, indexes, plannedAt } = setup([
      ['a', 1],
      ['b', 3],
    ])
    run.ingest('a', windows(0))
    expect(indexes()).toEqual([])
    run.ingest('b', windows(0))
    expect(indexes()).toEqual([0])
    expect(emitted[0]).toMatchObject({
      index: 0,
      step: 0,
      agents: 2,
      sent: 2,
      startedAt: T0 + 2,
      planned: plannedAt(0),
    })
    expect(emitted[0]!.missingAgents).toBeUndefined()
    run.ingest('b', windows(1, 2))
    expect(indexes()).toEqual([0])
    run.ingest('a', windows(1))
    expect(indexes()).toEqual([0, 1])
    run.ingest('a', windows(2, 3, 4, 5, 6, 7))
    expect(indexes()).toEqual([0, 1, 2])
    expect(run.finished).toBe(false)
    run.ingest('b', windows(3, 4, 5, 6, 7))
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(emitted.map((w) => w.step)).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
    expect(run.finished).toBe(true)
  })

  it(`planned of each merged window is what the scenario plans for that second, \
and the run plans the scenario\u2019s sends`, () => {
    const { run, emitted, plannedAt } = setup(
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ],
      fractionalPlan,
    )
    for (const name of ['a', 'b', 'c']) run.ingest(name, windows(0, 1, 2, 3, 4, 5, 6, 7))
    expect(emitted).toHaveLength(8)
    for (const w of emitted) expect(w.planned).toBe(plannedAt(w.index))
    expect(emitted.reduce((sum, w) => sum + w.planned, 0)).toBe(fractionalPlan.reduce((sum, e) => sum + sendsOf(e), 0))
  })

  it('out-of-order delivery (b delivers 0, 1, 2 before a delivers 0) still emits in order', () => {
    const { run, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('b', windows(0, 1, 2))
    expect(indexes()).toEqual([])
    run.ingest('a', windows(0))
    expect(indexes()).toEqual([0])
    run.ingest('a', windows(2))
    expect(indexes()).toEqual([0])
    run.ingest('a', windows(1))
    expect(indexes()).toEqual([0, 1, 2])
    // Windows out of order inside one report.
    run.ingest('b', windows(5, 3, 4))
    run.ingest('a', windows(4, 5, 3))
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('ignores duplicates: before emission, after emission, and past the end', () => {
    const { run, emitted } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', { windows: [win(0, { sent: 1 }), win(0, { sent: 99 })] })
    expect(run.pending('a', 0)?.sent).toBe(1)
    run.ingest('a', { windows: [win(0, { sent: 99 })] })
    expect(run.pending('a', 0)?.sent).toBe(1)
    run.ingest('b', { windows: [win(0, { sent: 10 })] })
    expect(emitted).toHaveLength(1)
    expect(emitted[0]!.sent).toBe(11) // the first copy counts
    run.ingest('a', windows(0))
    run.ingest('b', windows(0))
    expect(run.pending('a', 0)).toBeUndefined()
    expect(run.pending('b', 0)).toBeUndefined()
    run.ingest('a', windows(8))
    expect(run.pending('a', 8)).toBeUndefined()
    expect(emitted).toHaveLength(1)
  })

  it('ignores reports from agents that are not members', () => {
    const { run, emitted } = setup([['a', 1]])
    run.ingest('stranger', windows(0))
    expect(emitted).toHaveLength(0)
    expect(run.pending('stranger', 0)).toBeUndefined()
    expect(run.lose('stranger', 'gone', T0, true)).toBeUndefined()
    expect(run.losses).toEqual([])
  })

  it('sums the agents\u2019 peak connections', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', { windows: [win(0, { openConnections: 5 }), win(1, { openConnections: 12 })] })
    run.ingest('b', { windows: [win(0, { openConnections: 7 })] })
    expect(run.peakConnections).toBe(19)
    run.ingest('b', { windows: [], done: { aborted: false, peakConnections: 9 } })
    expect(run.peakConnections).toBe(21)
  })
})

describe('DistributedRun: losing an agent and redistributing', () => {
  it.each<[number, number]>([
    [-5000, 0],
    [-250, 0],
    [-249, 1],
    [0, 1],
    [749, 1],
    [750, 1],
    [751, 2],
    [1750, 2],
    [1999, 3],
    [2000, 3],
    [5600, 6],
    [6750, 7],
  ])('lost at %i ms into the run: fromS is %i, the first second at least 250 ms ahead', (elapsedMs, fromS) => {
    const { run } = setup([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
    const moves = run.lose('a', 'no heartbeat for 3 s', T0 + elapsedMs, true)
    expect(moves?.fromS).toBe(fromS)
    expect(fromS * 1000 - elapsedMs).toBeGreaterThanOrEqual(250)
    if (fromS > 0) expect((fromS - 1) * 1000 - elapsedMs).toBeLessThan(250)
    // Gaps are counted as the windows lacking it are merged; none is yet.
    expect(run.losses[0]).toMatchObject({
      agent: 'a',
      reason: 'no heartbeat for 3 s',
      redistributedFrom: fromS,
      lastWindow: -1,
      gapWindows: 0,
    })
    expect(run.losses[0]!.lostAt).toBe(new Date(T0 + elapsedMs).toISOString())
  })

  it('redistributes nothing once fromS is past the end of the run', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    expect(run.lose('a', 'gone', T0 + 7751, true)).toBeUndefined()
    expect(run.losses[0]!.redistributedFrom).toBeNull()
  })

  it.each<[string, PlannedStep[], Array<[string, number]>, number]>([
    [
      'integer rates, 3 agents',
      plan,
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
      ],
      2100,
    ],
    [
      'fractional rates, 3 agents',
      fractionalPlan,
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ],
      1500,
    ],
    [
      'fractional rates, 7 unequal agents',
      fractionalPlan,
      [
        ['a', 10],
        ['b', 1],
        ['c', 250],
        ['d', 3],
        ['e', 0.5],
        ['f', 77],
        ['g', 12],
      ],
      5300,
    ],
    [
      'losing the first agent of 2 mid-step',
      fractionalPlan,
      [
        ['a', 2],
        ['b', 1],
      ],
      2600,
    ],
  ])(
    '%s: the survivors\u2019 tails add up to the plan\u2019s rate from fromS, in proportion to capacity',
    (_name, runPlan, agents, elapsedMs) => {
      const { run } = setup(agents, runPlan)
      const moves = run.lose('a', 'gone', T0 + elapsedMs, true)!
      const survivors = agents.slice(1)
      expect(moves.tails.map((t) => t.agent)).toEqual(survivors.map(([name]) => name))
      const expectedTail = planFrom(runPlan, moves.fromS)
      expect(expectedTail.length).toBeGreaterThan(0)
      const capacity = survivors.reduce((sum, [, c]) => sum + c, 0)
      expectedTail.forEach((entry, k) => {
        for (const { steps } of moves.tails)
          expect({ durationS: steps[k]!.durationS, step: steps[k]!.step }).toEqual({
            durationS: entry.durationS,
            step: entry.step,
          })
        expect(moves.tails.reduce((sum, t) => sum + sendsOf(t.steps[k]!), 0)).toBe(sendsOf(entry))
        moves.tails.forEach((t, i) =>
          expect(Math.abs(sendsOf(t.steps[k]!) - (sendsOf(entry) * survivors[i]![1]) / capacity)).toBeLessThan(1),
        )
      })
      for (const { steps } of moves.tails) expect(steps).toHaveLength(expectedTail.length)
    },
  )

  it(`two agents: windows up to fromS miss the lost agent but plan its share; \
from fromS the survivor carries the whole rate`, () => {
    const { run, emitted, indexes, plannedAt } = setup([
      ['a', 1],
      ['b', 3],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0, 1))
    expect(indexes()).toEqual([0, 1])

    const moves = run.lose('a', 'no heartbeat for 3 s', T0 + 2100, true)
    expect(moves).toEqual<Redistribution>({ fromS: 3, tails: [{ agent: 'b', steps: planFrom(plan, 3) }] })
    expect(run.losses).toEqual([
      {
        agent: 'a',
        lostAt: new Date(T0 + 2100).toISOString(),
        reason: 'no heartbeat for 3 s',
        lastWindow: 1,
        redistributedFrom: 3,
        gapWindows: 0,
      },
    ])
    expect(indexes()).toEqual([0, 1]) // b has not delivered window 2 yet

    run.ingest('b', windows(2))
    expect(indexes()).toEqual([0, 1, 2])
    expect(emitted[2]).toMatchObject({ index: 2, agents: 1, missingAgents: ['a'], planned: plannedAt(2) })

    // The lost agent's late windows are ignored (not merged, not counted).
    run.ingest('a', windows(2, 3))
    expect(run.pending('a', 3)).toBeUndefined()

    run.ingest('b', windows(3, 4, 5, 6, 7))
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    const whole = buildTimeline(plan)
    for (const w of emitted.slice(3)) {
      expect(w.missingAgents).toBeUndefined()
      expect(w.agents).toBe(1)
      expect(w.planned).toBe(plannedInWindow(whole, w.index))
    }
    expect(emitted.filter((w) => w.missingAgents?.includes('a'))).toHaveLength(run.losses[0]!.gapWindows)
    expect(run.finished).toBe(true)
  })

  it(`three agents, fractional rates, lost mid-step: the gap plans the whole rate, \
and so does every second after it`, () => {
    const agents: Array<[string, number]> = [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]
    const { run, emitted, indexes, plannedAt } = setup(agents, fractionalPlan)
    run.ingest('a', windows(0))
    run.ingest('b', windows(0))
    run.ingest('c', windows(0))
    const moves = run.lose('a', 'gone', T0 + 1500, true)!
    expect(moves.fromS).toBe(2)
    expect(run.losses[0]).toMatchObject({ lastWindow: 0, redistributedFrom: 2, gapWindows: 0 })

    run.ingest('b', windows(1))
    expect(indexes()).toEqual([0])
    run.ingest('c', windows(1))
    expect(indexes()).toEqual([0, 1])
    expect(emitted[1]).toMatchObject({ missingAgents: ['a'], agents: 2, planned: plannedAt(1) })

    expect(run.losses[0]!.gapWindows).toBe(1)
    run.ingest('b', windows(2, 3, 4, 5, 6, 7))
    run.ingest('c', windows(2, 3, 4, 5, 6, 7))
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    for (const w of emitted.slice(2)) {
      expect(w.missingAgents).toBeUndefined()
      expect(w.planned, `window ${w.index}`).toBe(plannedAt(w.index))
    }
    // The step cut mid-way keeps its tag on both sides of fromS.
    expect(emitted.map((w) => w.step)).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
  })

  it('a second loss moves the whole remaining rate to the last survivor', () => {
    const { run, emitted } = setup(
      [
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ],
      fractionalPlan,
    )
    const first = run.lose('a', 'gone', T0 + 500, true)!
    expect(first.fromS).toBe(1)
    for (const name of ['b', 'c']) run.ingest(name, windows(0, 1, 2))
    const second = run.lose('b', 'gone', T0 + 3600, true)!
    expect(second).toEqual<Redistribution>({ fromS: 4, tails: [{ agent: 'c', steps: planFrom(fractionalPlan, 4) }] })
    run.ingest('c', windows(3, 4, 5, 6, 7))
    expect(run.losses[1]).toMatchObject({ agent: 'b', lastWindow: 2, redistributedFrom: 4, gapWindows: 1 })
    expect(emitted.map((w) => w.missingAgents ?? [])).toEqual([['a'], [], [], ['b'], [], [], [], []])
    const whole = buildTimeline(fractionalPlan)
    for (const w of emitted.slice(4)) expect(w.planned).toBe(plannedInWindow(whole, w.index))
    expect(run.finished).toBe(true)
  })

  it(`a survivor that could not take its new plan: the seconds from fromS still plan the whole rate, \
and the loss names it`, () => {
    const { run, emitted, plannedAt } = setup([
      ['a', 1],
      ['b', 3],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0, 1))
    const moves = run.lose('a', 'gone', T0 + 2100, true)!
    expect(moves.fromS).toBe(3)
    run.notCarried('a', 'b') // what RemoteAgents does when b refuses the replan
    run.ingest('b', windows(2, 3, 4))
    const w3 = emitted.find((w) => w.index === 3)!
    expect(w3.planned).toBe(plannedAt(3))
    expect(run.losses[0]!.notCarriedBy).toEqual(['b'])
  })

  it('losing an agent twice records one loss', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    expect(run.lose('a', 'gone', T0 + 1000, true)).toBeDefined()
    expect(run.lose('a', 'gone again', T0 + 2000, true)).toBeUndefined()
    expect(run.losses).toHaveLength(1)
  })
})

describe('DistributedRun: abort, losing everyone, stopping', () => {
  it('lose() without redistribute leaves the lost agent owing: its share is missing, never moved', () => {
    const { run, emitted, plannedAt } = setup([
      ['a', 1],
      ['b', 3],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0, 1))
    expect(run.lose('a', 'gone', T0 + 2100, false)).toBeUndefined()
    expect(run.losses).toEqual([
      {
        agent: 'a',
        lostAt: new Date(T0 + 2100).toISOString(),
        reason: 'gone',
        lastWindow: 1,
        redistributedFrom: null,
        gapWindows: 0,
      },
    ])
    run.ingest('b', windows(2, 3, 4))
    expect(run.losses[0]!.gapWindows).toBe(3)
    expect(emitted.map((w) => w.index)).toEqual([0, 1, 2, 3, 4])
    for (const w of emitted.slice(2)) {
      expect(w.missingAgents).toEqual(['a'])
      expect(w.planned).toBe(plannedAt(w.index))
    }
  })

  it('abort: gapWindows counts the windows that lack the lost agent\u2019s share', () => {
    const { run, emitted } = setup([
      ['a', 1],
      ['b', 3],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0, 1))
    run.lose('a', 'gone', T0 + 2100, false)
    run.stop() // what RemoteAgents does on abort
    run.ingest('b', { windows: [win(2)], done: { aborted: true, peakConnections: 1 } })
    expect(run.finished).toBe(true)
    expect(emitted.map((w) => w.index)).toEqual([0, 1, 2])
    const lacking = emitted.filter((w) => w.missingAgents?.includes('a')).length
    expect(lacking).toBe(1)
    expect(run.losses[0]!.gapWindows).toBe(lacking)
  })

  it('losing every agent ends the run with what was delivered', () => {
    const { run, emitted, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0))
    expect(indexes()).toEqual([0])
    expect(run.lose('b', 'gone', T0 + 1900, true)).toEqual({
      fromS: 3,
      tails: [{ agent: 'a', steps: planFrom(plan, 3) }],
    })
    // Window 1 no longer waits for b.
    expect(indexes()).toEqual([0, 1])
    expect(emitted[1]!.missingAgents).toEqual(['b'])
    expect(run.finished).toBe(false)
    expect(run.lose('a', 'gone', T0 + 2000, true)).toBeUndefined()
    expect(run.losses.map((l) => [l.agent, l.redistributedFrom])).toEqual([
      ['b', 3],
      ['a', null],
    ])
    expect(indexes()).toEqual([0, 1])
    expect(run.finished).toBe(true)
    run.ingest('a', windows(2))
    expect(indexes()).toEqual([0, 1])
  })

  it('a single agent lost: nothing moves and the run is finished', () => {
    const { run, indexes } = setup([['solo', 10]])
    run.ingest('solo', windows(0, 1, 2))
    expect(run.lose('solo', 'gone', T0 + 3100, true)).toBeUndefined()
    expect(run.losses[0]).toMatchObject({ lastWindow: 2, redistributedFrom: null })
    expect(indexes()).toEqual([0, 1, 2])
    expect(run.finished).toBe(true)
  })

  it('stop() then done reports: ends with the last delivered second, none invented', () => {
    const { run, emitted, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0, 1, 2))
    run.ingest('b', windows(0, 1))
    expect(indexes()).toEqual([0, 1])
    run.stop()
    expect(run.finished).toBe(false)
    run.ingest('a', done(4))
    expect(indexes()).toEqual([0, 1]) // b may still deliver window 2
    expect(run.finished).toBe(false)
    run.ingest('b', done(3))
    expect(indexes()).toEqual([0, 1, 2])
    expect(emitted[2]).toMatchObject({ agents: 1, complete: true })
    expect(emitted[2]!.missingAgents).toBeUndefined()
    expect(run.finished).toBe(true)
    expect(run.peakConnections).toBe(7)
  })

  it('stop() with the last windows and done in one report', () => {
    const { run, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0))
    run.ingest('b', windows(0))
    run.stop()
    run.ingest('a', {
      windows: [win(1, { complete: false }), win(2, { complete: false })],
      done: { aborted: true, peakConnections: 1 },
    })
    run.ingest('b', { windows: [win(1, { complete: false })], done: { aborted: true, peakConnections: 1 } })
    expect(indexes()).toEqual([0, 1, 2])
    expect(run.finished).toBe(true)
  })

  it('stop() before anything was delivered finishes once every agent is done, emitting nothing', () => {
    const { run, emitted } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.stop()
    run.ingest('a', done())
    expect(run.finished).toBe(false)
    run.ingest('b', done())
    expect(run.finished).toBe(true)
    expect(emitted).toEqual([])
  })

  it('stop() and a lost agent: the survivor\u2019s done finishes the run', () => {
    const { run, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0))
    run.stop()
    expect(run.lose('b', 'gone', T0 + 2500, true)).toBeUndefined() // a stopping run moves nothing
    expect(run.losses[0]!.redistributedFrom).toBeNull()
    expect(indexes()).toEqual([0, 1])
    expect(run.finished).toBe(false)
    run.ingest('a', done())
    expect(run.finished).toBe(true)
    expect(indexes()).toEqual([0, 1])
  })

  it(`an agent whose load ends early while the run goes on is reported as ended-early; once lost, \
its share is missing then moved`, () => {
    const { run, emitted, plannedAt } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0, 1))
    run.ingest('b', windows(0, 1))
    expect(run.ingest('a', { windows: [], done: { aborted: true, peakConnections: 1 } })).toBe('ended-early')
    // What RemoteAgents does with it.
    const moves = run.lose('a', 'its load ended early (aborted)', T0 + 2100, true)!
    expect(moves).toEqual<Redistribution>({ fromS: 3, tails: [{ agent: 'b', steps: planFrom(plan, 3) }] })
    run.ingest('b', windows(2))
    expect(run.losses[0]).toMatchObject({ agent: 'a', lastWindow: 1, redistributedFrom: 3, gapWindows: 1 })
    expect(emitted[2]).toMatchObject({ index: 2, missingAgents: ['a'], planned: plannedAt(2) })
    run.ingest('b', windows(3))
    expect(emitted[3]!.missingAgents).toBeUndefined()
    expect(emitted[3]!.planned).toBe(plannedInWindow(buildTimeline(plan), 3))
  })

  it.each<[string, (run: DistributedRun) => void]>([
    ['it delivered every window', (run) => run.ingest('a', windows(0, 1, 2, 3, 4, 5, 6, 7))],
    ['the run is stopping', (run) => run.stop()],
  ])('done is not ended-early when %s', (_name, before) => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    before(run)
    expect(run.ingest('a', { windows: [], done: { aborted: false, peakConnections: 1 } })).toBeUndefined()
  })
})

describe('DistributedRun: overdue agents', () => {
  const grace = 5000

  it('names an agent that has not delivered a window once its second plus grace has passed', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0))
    expect(run.overdue(T0 + 1000 + grace - 1, grace)).toEqual([])
    expect(run.overdue(T0 + 1000 + grace, grace)).toEqual(['b'])
    run.ingest('b', windows(0))
    expect(run.overdue(T0 + 1000 + grace, grace)).toEqual([])
    expect(run.overdue(T0 + 2000 + grace - 1, grace)).toEqual([])
    expect(run.overdue(T0 + 2000 + grace, grace)).toEqual(['a', 'b'])
    run.ingest('a', windows(1))
    expect(run.overdue(T0 + 60_000, grace)).toEqual(['b'])
  })

  it('never names a lost or done agent', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
      ['c', 1],
    ])
    run.lose('a', 'gone', T0 - 1000, false)
    run.ingest('b', done())
    expect(run.overdue(T0 + 60_000, grace)).toEqual(['c'])
  })

  it('a lost agent whose share moved away is not overdue', () => {
    const { run } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0))
    run.ingest('b', windows(0))
    run.lose('a', 'gone', T0 + 500, true) // fromS 1
    expect(run.overdue(T0 + 2000 + grace, grace)).toEqual(['b'])
  })

  it('names nobody once every window was emitted', () => {
    const { run } = setup([['a', 1]])
    run.ingest('a', windows(0, 1, 2, 3, 4, 5, 6, 7))
    expect(run.finished).toBe(true)
    expect(run.overdue(T0 + 3_600_000, grace)).toEqual([])
  })
})

describe('DistributedRun: a late loss', () => {
  it('an agent lost after delivering every window it owed records no loss and moves nothing', () => {
    const { run, indexes } = setup([
      ['a', 1],
      ['b', 1],
    ])
    run.ingest('a', windows(0, 1, 2, 3, 4, 5, 6, 7))
    expect(run.lose('a', 'no heartbeat for 3 s', T0 + 8500, true)).toBeUndefined()
    expect(run.losses).toEqual([])
    run.ingest('b', windows(0, 1, 2, 3, 4, 5, 6, 7))
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(run.finished).toBe(true)
  })
})

describe('DistributedRun: a step gate hold', () => {
  it(`lengthens the plan for every agent still loading: \
each owes the new seconds and gets its share of the tail`, () => {
    const { run, emitted, indexes } = setup([
      ['a', 1],
      ['b', 3],
    ])
    // Hold step 0 for 2 s more from second 4; step 1 follows.
    const tail: PlannedStep[] = [{ rps: 10, durationS: 2, step: 0 }, ...planFrom(plan, 4)]
    const moves = run.replan(4, tail)!
    expect(moves.fromS).toBe(4)
    expect(moves.tails.map((t) => t.agent)).toEqual(['a', 'b'])
    // Each hold second's 10 sends split 1:3 by capacity (largest remainder): 2.5 + 7.5 rps over the 2 s.
    expect(moves.tails.map((t) => sendsOf(t.steps[0]!))).toEqual([5, 15])
    for (const agent of ['a', 'b']) run.ingest(agent, windows(0, 1, 2, 3, 4, 5, 6, 7))
    // Window 7 was the last before; now 10 seconds are owed: nothing past 7 is merged until 8 and 9 come.
    expect(indexes()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(run.finished).toBe(false)
    expect(emitted[5]).toMatchObject({ step: 0, planned: 10 })
    expect(emitted[6]).toMatchObject({ step: 1, planned: 30 })
    for (const agent of ['a', 'b']) run.ingest(agent, windows(8, 9))
    expect(run.finished).toBe(true)
  })

  it('is refused once the run is stopping', () => {
    const { run } = setup([['a', 1]])
    run.stop()
    expect(run.replan(4, planFrom(plan, 4))).toBeUndefined()
  })
})
