import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ScheduledFault } from '../../packages/faults/src/fault-loader.js'
import { RunFaults } from '../../apps/controller/src/faults/run-faults.js'
import type { AppliedFault, FaultInjector } from '../../apps/controller/src/run/ports.js'

const T0 = Date.UTC(2030, 0, 2, 3, 0, 0)
const iso = (ms: number): string => new Date(ms).toISOString()
const runId = '20300102-030000-a1b2c3'

const fault = (id: string, over: Partial<FaultSpec>, start: ScheduledFault['start']): ScheduledFault => ({
  spec: { id, type: 'loss', target: { container: 'web' }, mechanism: 'auto', percent: 5, durationMs: 30_000, ...over },
  start,
})

/** A FaultInjector that records its calls; applies and reverts take `latencyMs` of (fake) time. */
class FakeInjector implements FaultInjector {
  calls: string[] = []
  latencyMs = { apply: 0, revert: 0 }
  failPrepare = new Map<string, Error>()
  failApply = new Set<string>()
  failRevert = new Set<string>()

  prepare(spec: FaultSpec): Promise<FaultSpec> {
    this.calls.push(`prepare ${spec.id}`)
    const error = this.failPrepare.get(spec.id)
    if (error) return Promise.reject(error)
    return Promise.resolve({ ...spec, mechanism: spec.mechanism === 'auto' ? 'iptables' : spec.mechanism })
  }

  async apply(spec: FaultSpec, untilEpochMs: number): Promise<AppliedFault> {
    this.calls.push(`apply ${spec.id} ${spec.mechanism} until ${iso(untilEpochMs)} at ${iso(Date.now())}`)
    await sleep(this.latencyMs.apply)
    if (this.failApply.has(spec.id))
      throw new GauntletError('fault_failed', `\`tc qdisc replace\` failed for ${spec.id}`)
    return {
      targets: ['web-1', 'web-2'],
      appliedAt: iso(Date.now()),
      revertedAt: null,
      revertVerified: false,
      notes: [],
    }
  }

  async revert(id: string, reason: string): Promise<AppliedFault> {
    this.calls.push(`revert ${id} (${reason}) at ${iso(Date.now())}`)
    await sleep(this.latencyMs.revert)
    if (this.failRevert.has(id)) throw new GauntletError('fault_failed', `fault ${id} did not read back clean`)
    return {
      targets: ['web-1', 'web-2'],
      appliedAt: '',
      revertedAt: iso(Date.now()),
      revertVerified: true,
      notes: [`reverted: ${reason}`],
    }
  }
}

const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
const fid = (id: string): string => `${runId}-${id}`

let injector: FakeInjector
let warnings: string[]

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  vi.setSystemTime(T0)
  injector = new FakeInjector()
  warnings = []
})

afterEach(() => {
  vi.clearAllTimers()
  vi.useRealTimers()
})

/** Steps start at 0 s, 60 s and 120 s. */
const stepStartS = [0, 60, 120]
/** `null`: no injector configured. */
const runFaults = (faults: ScheduledFault[], inj: FaultInjector | null = injector): RunFaults =>
  new RunFaults(runId, faults, stepStartS, inj ?? undefined, (line) => warnings.push(line))

describe('prepare', () => {
  it('with no faults needs no injector', async () => {
    const rf = runFaults([], null)
    await rf.prepare()
    expect(rf.count).toBe(0)
    expect(rf.records()).toEqual([])
  })

  it('faults without an injector are an error before any load', async () => {
    const error = (await runFaults([fault('f1-loss', {}, { atS: 0 })], null)
      .prepare()
      .catch((e: unknown) => e)) as GauntletError
    expect(error).toBeInstanceOf(GauntletError)
    expect(error.code).toBe('unsupported')
    expect(error.message).toContain('no fault injector is configured')
  })

  it('throws on the first bad fault with its id, keeping its code; later faults are not asked', async () => {
    injector.failPrepare.set(
      fid('f2-delay'),
      new GauntletError('unsupported', 'delay with mode: netem needs sch_netem'),
    )
    const rf = runFaults([
      fault('f1-loss', {}, { atS: 0 }),
      fault('f2-delay', { type: 'delay', mechanism: 'netem', latencyMs: 100 }, { atS: 5 }),
      fault('f3-reset', { type: 'reset', port: 80 }, { atS: 9 }),
    ])
    const error = (await rf.prepare().catch((e: unknown) => e)) as GauntletError
    expect(error).toBeInstanceOf(GauntletError)
    expect(error.code).toBe('unsupported')
    expect(error.message).toBe('fault f2-delay: delay with mode: netem needs sch_netem')
    expect(injector.calls).toEqual([`prepare ${fid('f1-loss')}`, `prepare ${fid('f2-delay')}`])
  })

  it('records the mechanism prepare decided', async () => {
    const rf = runFaults([fault('f1-loss', {}, { atS: 0 })])
    expect(rf.records()[0]!.mechanism).toBe('auto')
    await rf.prepare()
    expect(rf.records()[0]!.mechanism).toBe('iptables')
  })

  it('gives each fault a run-unique id for the injector, and keeps the scenario id in records', async () => {
    const rf = runFaults([
      fault('f1-loss', {}, { atS: 0 }),
      fault('f12-bandwidth', { type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }, { atS: 0 }),
    ])
    await rf.prepare()
    expect(injector.calls).toEqual([`prepare ${runId}-f1-loss`, `prepare ${runId}-f12-bandwidth`])
    expect(rf.records().map((r) => r.id)).toEqual(['f1-loss', 'f12-bandwidth'])
    for (const call of injector.calls) expect(call.slice('prepare '.length)).toMatch(/^[a-z0-9-]{1,40}$/)
  })
})

describe('schedule', () => {
  const faults = (): ScheduledFault[] => [
    fault('f1-loss', { durationMs: 30_000 }, { atS: 10 }),
    fault(
      'f2-partition',
      { type: 'partition', mechanism: 'iptables', direction: 'both', durationMs: 20_000 },
      { atStep: 2 },
    ),
    fault('f3-reset', { type: 'reset', mechanism: 'iptables', port: 80, durationMs: 5_000 }, { atStep: 3 }),
  ]

  it('applies at each offset (atS, or the start second of atStep) and reverts at the end', async () => {
    const rf = runFaults(faults())
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(9_999)
    expect(injector.calls).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(injector.calls).toEqual([
      `apply ${fid('f1-loss')} iptables until ${iso(T0 + 40_000)} at ${iso(T0 + 10_000)}`,
    ])
    await vi.advanceTimersByTimeAsync(30_000)
    expect(injector.calls.at(-1)).toBe(`revert ${fid('f1-loss')} (duration ended) at ${iso(T0 + 40_000)}`)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(injector.calls.at(-1)).toBe(
      `apply ${fid('f2-partition')} iptables until ${iso(T0 + 80_000)} at ${iso(T0 + 60_000)}`,
    )
    await vi.advanceTimersByTimeAsync(100_000)
    expect(injector.calls.slice(2)).toEqual([
      `apply ${fid('f2-partition')} iptables until ${iso(T0 + 80_000)} at ${iso(T0 + 60_000)}`,
      `revert ${fid('f2-partition')} (duration ended) at ${iso(T0 + 80_000)}`,
      `apply ${fid('f3-reset')} iptables until ${iso(T0 + 125_000)} at ${iso(T0 + 120_000)}`,
      `revert ${fid('f3-reset')} (duration ended) at ${iso(T0 + 125_000)}`,
    ])
    await rf.stop('run ended')
    expect(injector.calls.filter((c) => c.startsWith('revert'))).toHaveLength(3)
  })

  it("schedules from the run's start even when start() is called late", async () => {
    const rf = runFaults(faults())
    await rf.prepare()
    injector.calls = []
    vi.setSystemTime(T0 + 12_000)
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(0)
    // f1 was due at 10 s: applied at once, still ending at 40 s.
    expect(injector.calls).toEqual([
      `apply ${fid('f1-loss')} iptables until ${iso(T0 + 40_000)} at ${iso(T0 + 12_000)}`,
    ])
    await vi.advanceTimersByTimeAsync(28_000)
    expect(injector.calls.at(-1)).toBe(`revert ${fid('f1-loss')} (duration ended) at ${iso(T0 + 40_000)}`)
    await rf.stop('test over')
  })

  it('records planned and actual times', async () => {
    injector.latencyMs = { apply: 700, revert: 300 }
    const rf = runFaults(faults().slice(0, 1))
    await rf.prepare()
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(45_000)
    expect(rf.records()).toEqual([
      {
        id: 'f1-loss',
        type: 'loss',
        mechanism: 'iptables',
        targets: ['web-1', 'web-2'],
        plannedApplyAt: iso(T0 + 10_000),
        appliedAt: iso(T0 + 10_700),
        plannedRevertAt: iso(T0 + 40_000),
        revertedAt: iso(T0 + 40_300),
        revertVerified: true,
        notes: ['reverted: duration ended'],
      },
    ])
    await rf.stop('test over')
  })

  it('records are copies', () => {
    const rf = runFaults(faults().slice(0, 1))
    rf.records()[0]!.notes.push('tampered')
    rf.records()[0]!.id = 'tampered'
    expect(rf.records()[0]).toMatchObject({ id: 'f1-loss', notes: [] })
  })
})

describe('activeDuring', () => {
  it('reports the faults in effect during any part of a window', async () => {
    const rf = runFaults([
      fault('f1-loss', { durationMs: 30_000 }, { atS: 10 }),
      fault('f2-partition', { type: 'partition', mechanism: 'iptables', durationMs: 100_000 }, { atS: 20 }),
    ])
    await rf.prepare()
    rf.start(T0)
    expect(rf.activeDuring(T0, T0 + 60_000)).toEqual([]) // nothing applied yet
    await vi.advanceTimersByTimeAsync(50_000) // f1: 10 s..40 s; f2 from 20 s, still on
    const at = (s: number): number => T0 + s * 1000
    expect(rf.activeDuring(at(0), at(10))).toEqual([]) // ends as f1 begins: [start, end)
    expect(rf.activeDuring(at(9), at(11))).toEqual(['f1-loss'])
    expect(rf.activeDuring(at(15), at(25))).toEqual(['f1-loss', 'f2-partition'])
    expect(rf.activeDuring(at(39), at(40))).toEqual(['f1-loss', 'f2-partition'])
    expect(rf.activeDuring(at(40), at(41))).toEqual(['f2-partition']) // f1 reverted at 40 s
    expect(rf.activeDuring(at(45), at(46))).toEqual(['f2-partition'])
    await rf.stop('test over')
    expect(rf.activeDuring(at(49), at(51))).toEqual(['f2-partition']) // reverted at 50 s by stop
    expect(rf.activeDuring(at(51), at(52))).toEqual([])
  })
})

describe('stop', () => {
  it('cancels pending applies and reverts applied faults exactly once', async () => {
    const rf = runFaults([
      fault('f1-loss', { durationMs: 30_000 }, { atS: 10 }),
      fault('f2-partition', { type: 'partition', mechanism: 'iptables' }, { atStep: 2 }),
    ])
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(20_000)
    await rf.stop('rolled back')
    expect(injector.calls).toEqual([
      `apply ${fid('f1-loss')} iptables until ${iso(T0 + 40_000)} at ${iso(T0 + 10_000)}`,
      `revert ${fid('f1-loss')} (rolled back) at ${iso(T0 + 20_000)}`,
    ])
    // Neither f2's apply nor f1's own end timer fire afterwards; a second stop changes nothing.
    await vi.advanceTimersByTimeAsync(300_000)
    await rf.stop('again')
    expect(injector.calls).toHaveLength(2)
    expect(rf.records().map((r) => [r.id, r.appliedAt, r.revertedAt])).toEqual([
      ['f1-loss', iso(T0 + 10_000), iso(T0 + 20_000)],
      ['f2-partition', null, null],
    ])
  })

  it('an apply in flight when the run stops is awaited, then reverted once', async () => {
    injector.latencyMs.apply = 2_000
    const rf = runFaults([fault('f1-loss', {}, { atS: 10 })])
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(10_500) // apply started at 10 s, still running
    const stopped = rf.stop('aborted')
    await vi.advanceTimersByTimeAsync(2_000)
    await stopped
    expect(injector.calls).toEqual([
      `apply ${fid('f1-loss')} iptables until ${iso(T0 + 40_000)} at ${iso(T0 + 10_000)}`,
      `revert ${fid('f1-loss')} (aborted) at ${iso(T0 + 12_000)}`,
    ])
    await vi.advanceTimersByTimeAsync(100_000)
    expect(injector.calls).toHaveLength(2)
  })

  it("a revert already running at the fault's end is not repeated by stop", async () => {
    injector.latencyMs.revert = 3_000
    const rf = runFaults([fault('f1-loss', { durationMs: 5_000 }, { atS: 0 })])
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(6_000) // revert began at 5 s and takes 3 s
    const stopped = rf.stop('run ended')
    await vi.advanceTimersByTimeAsync(3_000)
    await stopped
    expect(injector.calls.filter((c) => c.startsWith('revert'))).toEqual([
      `revert ${fid('f1-loss')} (duration ended) at ${iso(T0 + 5_000)}`,
    ])
    expect(rf.records()[0]!.revertedAt).toBe(iso(T0 + 8_000))
  })

  it('a failed apply is recorded with its error and a warning, and is not reverted', async () => {
    injector.failApply.add(fid('f1-loss'))
    const rf = runFaults([
      fault('f1-loss', {}, { atS: 1 }),
      fault('f2-reset', { type: 'reset', mechanism: 'iptables', port: 80 }, { atS: 2 }),
    ])
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(5_000)
    await rf.stop('run ended')
    const [f1, f2] = rf.records()
    expect(f1).toMatchObject({
      id: 'f1-loss',
      appliedAt: null,
      revertedAt: null,
      error: `not applied: \`tc qdisc replace\` failed for ${fid('f1-loss')}`,
    })
    expect(f2).toMatchObject({
      id: 'f2-reset',
      appliedAt: iso(T0 + 2_000),
      revertedAt: iso(T0 + 5_000),
      revertVerified: true,
    })
    expect(f2!.error).toBeUndefined()
    expect(warnings).toEqual([`fault f1-loss was not applied: \`tc qdisc replace\` failed for ${fid('f1-loss')}`])
    expect(injector.calls.filter((c) => c.startsWith('revert'))).toEqual([
      `revert ${fid('f2-reset')} (run ended) at ${iso(T0 + 5_000)}`,
    ])
    expect(rf.activeDuring(T0, T0 + 60_000)).toEqual(['f2-reset'])
  })

  it('a failed revert is recorded and warned about, and not retried by stop', async () => {
    injector.failRevert.add(fid('f1-loss'))
    const rf = runFaults([fault('f1-loss', { durationMs: 5_000 }, { atS: 0 })])
    await rf.prepare()
    injector.calls = []
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(10_000)
    await rf.stop('run ended')
    expect(injector.calls.filter((c) => c.startsWith('revert'))).toHaveLength(1)
    expect(rf.records()[0]).toMatchObject({
      appliedAt: iso(T0),
      revertedAt: null,
      revertVerified: false,
      error: `revert: fault ${fid('f1-loss')} did not read back clean`,
    })
    expect(warnings).toEqual([`fault f1-loss: fault ${fid('f1-loss')} did not read back clean`])
  })

  it('stop before start applies nothing', async () => {
    const rf = runFaults([fault('f1-loss', {}, { atS: 0 })])
    await rf.prepare()
    injector.calls = []
    await rf.stop('never started')
    rf.start(T0)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(injector.calls).toEqual([])
  })
})
