import { emptyErrorCounts, type WindowReport } from '@gauntlet/contracts'
import { decodeHistogram } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import type { LoadPlan } from '../../apps/agent/src/load/load-generator.js'
import { SendValueSource } from '../../apps/agent/src/load/send-values.js'
import { defaultWorkers, threadPlans } from '../../apps/agent/src/load/thread-plans.js'
import { mergeThreadWindows, ThreadWindows } from '../../apps/agent/src/load/thread-windows.js'
import { encodedLatencies, threadWindow } from '../helpers/buckets.js'

const plan = (overrides: Partial<LoadPlan> = {}): LoadPlan => ({
  target: { protocol: 'http:', hostname: '127.0.0.1', port: 1, path: '/', method: 'GET', headers: {} },
  steps: [{ rps: 100, durationS: 2, step: 0 }],
  timeoutMs: 1000,
  maxConnections: 100,
  ...overrides,
})
const numbered = (count: number): string[][] => Array.from({ length: count }, (_, i) => [`r${i}`])

describe('threadPlans', () => {
  it('one thread is the plan itself', () => {
    const whole = plan()
    expect(threadPlans(whole, 1)).toEqual([whole])
  })

  it.each<[string, Partial<LoadPlan>, number, number[], number[] | undefined]>([
    ['maxConnections split, adding up', { maxConnections: 100 }, 3, [34, 33, 33], undefined],
    ['fixed connections split, adding up', { connections: 5, maxConnections: 5 }, 2, [3, 2], [3, 2]],
    ['never more threads than connections', { connections: 2, maxConnections: 2 }, 8, [1, 1], [1, 1]],
  ])('%s', (_name, overrides, workers, maxConnections, connections) => {
    const plans = threadPlans(plan(overrides), workers)
    expect(plans.map((p) => p.maxConnections)).toEqual(maxConnections)
    expect(plans.map((p) => p.connections)).toEqual(connections ?? plans.map(() => undefined))
    expect(plans.map((p) => p.lane)).toEqual(plans.map((_, index) => ({ index, count: plans.length })))
  })

  it('{{ seq }} stays unique across agents and their threads, whatever thread counts the agents run', () => {
    // Three agents running 1, 2 and 3 threads: every send of every thread numbers differently, and each
    // agent keeps the numbers i, i+3, i+6… that it would use on one thread.
    const seen = new Set<number>()
    for (const [agent, workers] of [1, 2, 3].entries()) {
      const mine = new Set<number>()
      for (const threadPlan of threadPlans(plan({ slot: { index: agent, count: 3 } }), workers)) {
        const values = new SendValueSource({}, threadPlan.slot)
        for (let i = 0; i < 50; i++) {
          const seq = values.next(0).seq
          expect(seen.has(seq), `seq ${seq}`).toBe(false)
          seen.add(seq)
          mine.add(seq)
        }
      }
      for (const seq of mine) expect(seq % 3).toBe(agent)
    }
  })

  it("a unique data set's rows are dealt between the threads: no row twice, every row once", () => {
    const share = { columns: ['id'], rows: numbered(11), order: 'unique' as const }
    const plans = threadPlans(plan({ data: { users: share } }), 3)
    const dealt = plans.flatMap((p) => p.data!.users!.rows.map((row) => row[0]))
    expect(dealt.sort()).toEqual(share.rows.map((row) => row[0]).sort())
    expect(plans.map((p) => p.data!.users!.rows.length)).toEqual([4, 4, 3])
  })

  it('a sequential data set goes whole to every thread, each starting at its own row', () => {
    const share = { columns: ['id'], rows: numbered(5), order: 'sequential' as const }
    const firstRows = threadPlans(plan({ data: { users: share } }), 3).map((p) => {
      expect(p.data!.users!.rows).toHaveLength(5)
      return new SendValueSource(p.data!, p.slot).next(0).row('users').id
    })
    expect(firstRows).toEqual(['r0', 'r1', 'r2'])
  })

  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [16, 15],
    [200, 64],
  ])('with %i cores the default is %i threads', (cores, workers) => {
    expect(defaultWorkers(cores)).toBe(workers)
  })
})

describe('mergeThreadWindows', () => {
  it('adds the threads up as the controller adds agents up, without agent fields', () => {
    const errorsA = { ...emptyErrorCounts(), timeout: 2, status: { '503': 1 } }
    const merged = mergeThreadWindows(
      [
        threadWindow(4, { planned: 51, dispatched: 51, ok: 48, errors: errorsA, latency: encodedLatencies([1, 2, 3]) }),
        threadWindow(4, {
          startedAt: 1_700_000_003_999,
          lateSends: 2,
          maxSendLagMs: 25,
          generatorLimited: true,
          latency: encodedLatencies([100]),
          complete: false,
        }),
      ],
      2,
    )
    expect(merged).toMatchObject({
      index: 4,
      planned: 101,
      dispatched: 101,
      ok: 98,
      sent: 100,
      lateSends: 2,
      maxSendLagMs: 25,
      generatorLimited: true,
      complete: false,
      openConnections: 6,
      startedAt: 1_700_000_003_999,
      errors: { timeout: 2, status: { '503': 1 } },
    })
    expect(merged).not.toHaveProperty('agents')
    expect(merged).not.toHaveProperty('skewMs')
    // Histograms merged, not averaged: the slow thread's 100 ms is the max.
    const latency = decodeHistogram(merged.latency)
    expect(latency.totalCount).toBe(4)
    expect(latency.maxValue).toBeGreaterThanOrEqual(99_000)
  })

  it('a window some thread never delivered is incomplete', () => {
    expect(mergeThreadWindows([threadWindow(0)], 2).complete).toBe(false)
  })
})

describe('ThreadWindows', () => {
  it('hands on one window per second, in order, once every thread delivered it', () => {
    const out: WindowReport[] = []
    const windows = new ThreadWindows(2, (w) => out.push(w))
    windows.add(0, threadWindow(0))
    windows.add(0, threadWindow(1))
    expect(out).toEqual([])
    windows.add(1, threadWindow(0))
    expect(out.map((w) => [w.index, w.planned])).toEqual([[0, 100]])
    windows.add(0, threadWindow(2))
    windows.add(1, threadWindow(1))
    windows.add(1, threadWindow(2))
    expect(out.map((w) => [w.index, w.planned])).toEqual([
      [0, 100],
      [1, 100],
      [2, 100],
    ])
  })

  it('flushes what is left in order when the run ends, marked incomplete, and takes nothing after', () => {
    const out: WindowReport[] = []
    const windows = new ThreadWindows(2, (w) => out.push(w))
    windows.add(0, threadWindow(0))
    windows.add(0, threadWindow(1))
    windows.add(1, threadWindow(0))
    windows.flush()
    windows.add(1, threadWindow(1))
    expect(out.map((w) => [w.index, w.complete])).toEqual([
      [0, true],
      [1, false],
    ])
  })

  it('a thread delivering a second twice is counted once: the second waits for the other thread', () => {
    const out: WindowReport[] = []
    const windows = new ThreadWindows(2, (w) => out.push(w))
    windows.add(0, threadWindow(0, { ok: 10 }))
    windows.add(0, threadWindow(0, { ok: 20 }))
    expect(out).toEqual([])
    windows.add(1, threadWindow(0, { ok: 1 }))
    expect(out.map((w) => [w.index, w.ok, w.complete])).toEqual([[0, 11, true]])
  })

  it('a window for a second already handed on is ignored: no second twice, none out of order', () => {
    const out: WindowReport[] = []
    const windows = new ThreadWindows(2, (w) => out.push(w))
    windows.add(0, threadWindow(0))
    windows.add(0, threadWindow(1))
    windows.add(1, threadWindow(0))
    windows.add(1, threadWindow(1))
    // Second 0 again (from either thread), then a later second from one thread: flushed once, in order.
    windows.add(1, threadWindow(0))
    windows.add(0, threadWindow(0))
    windows.add(0, threadWindow(2))
    windows.flush()
    expect(out.map((w) => [w.index, w.complete])).toEqual([
      [0, true],
      [1, true],
      [2, false],
    ])
  })

  it('names the oldest second still owed, by which threads, and since when', () => {
    let now = 1000
    const windows = new ThreadWindows(
      3,
      () => {},
      () => now,
    )
    expect(windows.oldestOwed()).toBeUndefined()
    windows.add(1, threadWindow(0))
    now = 1500
    windows.add(2, threadWindow(0))
    windows.add(2, threadWindow(1))
    now = 4000
    expect(windows.oldestOwed()).toEqual({ index: 0, missing: [0], firstThread: 1, ageMs: 3000 })
    windows.add(0, threadWindow(0))
    expect(windows.oldestOwed()).toEqual({ index: 1, missing: [0, 1], firstThread: 2, ageMs: 2500 })
  })

  it('hands nothing more to a consumer that threw', () => {
    let calls = 0
    const windows = new ThreadWindows(1, () => {
      calls++
      throw new Error('storage is full')
    })
    expect(() => windows.add(0, threadWindow(0))).toThrow('storage is full')
    windows.add(0, threadWindow(1))
    windows.flush()
    expect(calls).toBe(1)
  })
})
