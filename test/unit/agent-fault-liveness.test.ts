import { AgentFaults } from '@gauntlet/agent'
import { controllerLostAfterMs, type FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { FakeFaultEngine } from '../helpers/fake-fault-engine.js'

const spec = (id: string): FaultSpec => ({
  id,
  type: 'partition',
  target: { container: 'orders-1' },
  mechanism: 'iptables',
  durationMs: 60_000,
})

/** Polls until the engine has seen `count` reverts (they are started, not awaited, by a heartbeat reply). */
async function reverts(engine: FakeFaultEngine, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const ids = engine.calls.filter((c) => c.op === 'revert').map((c) => c.id!)
    if (ids.length >= count) return ids
    await new Promise((resolve) => setImmediate(resolve))
  }
  return engine.calls.filter((c) => c.op === 'revert').map((c) => c.id!)
}

/**
 * Which runs are live, as a fault-capable agent judges from its heartbeat replies: a fault of a run the
 * controller no longer names is reverted, but only by a reply to a heartbeat sent after it was applied;
 * ad hoc faults are left to their expiry; a silent controller ends every run's faults.
 */
describe('AgentFaults: faults end with their run', () => {
  function setup() {
    let now = 1_000_000
    const engine = new FakeFaultEngine({ 'orders-1': {} })
    const faults = new AgentFaults(
      engine,
      engine,
      'host',
      () => {},
      () => now,
    )
    return { engine, faults, advance: (ms: number) => (now += ms), now: () => now }
  }

  it.each([
    ['no reply yet', undefined, true],
    ['a controller that routes no faults (no faultRuns)', { faultRuns: undefined }, true],
    ['the reply names the run', { faultRuns: ['run-a'] }, true],
    ['the reply does not name it', { faultRuns: ['run-b'] }, false],
  ] as const)('isRunLive with %s: %s', (_what, reply, live) => {
    const { faults, now } = setup()
    if (reply) faults.onReply(reply.faultRuns, now(), now())
    expect(faults.isRunLive('run-a')).toBe(live)
  })

  it(`reverts a run's fault once a heartbeat sent after its apply is answered without the run`, async () => {
    const { engine, faults, advance, now } = setup()
    const sentBefore = now()
    advance(10)
    await faults.apply({ spec: spec('f-run'), untilEpochMs: now() + 60_000, runId: 'run-a' })
    await faults.apply({ spec: spec('f-adhoc'), untilEpochMs: now() + 60_000 })
    // That reply could not know of the fault: it stays, and its run counts as live.
    faults.onReply([], sentBefore, now())
    expect(faults.isRunLive('run-a')).toBe(true)
    expect(await reverts(engine, 1)).toEqual([])
    advance(1000)
    faults.onReply(['run-a'], now(), now())
    expect(await reverts(engine, 1)).toEqual([])
    advance(1000)
    faults.onReply([], now(), now())
    expect(await reverts(engine, 1)).toEqual(['f-run'])
    expect((await faults.list()).map((r) => r.id)).toEqual(['f-adhoc'])
  })

  it(`a controller silent for ${controllerLostAfterMs / 1000} s: no run is live, their faults go, ad hoc ones stay`, async () => {
    const { engine, faults, advance, now } = setup()
    faults.onReply(['run-a'], now(), now())
    await faults.apply({ spec: spec('f-run'), untilEpochMs: now() + 60_000, runId: 'run-a' })
    await faults.apply({ spec: spec('f-adhoc'), untilEpochMs: now() + 60_000 })
    expect(faults.holdsRunFaults).toBe(true)
    advance(controllerLostAfterMs)
    expect(faults.isRunLive('run-a')).toBe(false)
    faults.onControllerLost()
    expect(await reverts(engine, 1)).toEqual(['f-run'])
    expect(faults.holdsRunFaults).toBe(false)
    expect((await faults.list()).map((r) => r.id)).toEqual(['f-adhoc'])
  })

  it('a fault already held is a conflict; a failed apply is not held', async () => {
    const { faults, now } = setup()
    await faults.apply({ spec: spec('f-1'), untilEpochMs: now() + 60_000, runId: 'run-a' })
    await expect(faults.apply({ spec: spec('f-1'), untilEpochMs: now() + 60_000 })).rejects.toMatchObject({
      code: 'conflict',
    })
    const missing = { ...spec('f-2'), target: { container: 'nowhere' } }
    await expect(faults.apply({ spec: missing, untilEpochMs: now() + 60_000, runId: 'run-b' })).rejects.toMatchObject({
      code: 'not_found',
    })
    expect(faults.holdsRunFaults).toBe(true)
    await faults.revert('f-1', 'test')
    expect(faults.holdsRunFaults).toBe(false)
  })

  it(`bypass: the revert of a proxy delay waits, once new connections bypass it, for its second half`, async () => {
    const { engine, faults, now } = setup()
    await faults.apply({
      spec: { ...spec('f-proxy'), type: 'delay', mechanism: 'proxy' },
      untilEpochMs: now() + 60_000,
    })
    expect(await faults.bypass('f-proxy', 'test')).toEqual({ draining: true })
    expect(engine.calls.map((c) => c.op).slice(-2)).toEqual(['revert', 'bypassed'])
    const report = await faults.revert('f-proxy', 'test')
    expect(report).toMatchObject({ id: 'f-proxy', revertVerified: true })
    expect(engine.calls.map((c) => c.op).slice(-1)).toEqual(['drained'])
    // Nothing to drain: the first half is the whole revert, and the second gets its report.
    await faults.apply({ spec: spec('f-plain'), untilEpochMs: now() + 60_000 })
    expect(await faults.bypass('f-plain', 'test')).toEqual({ draining: false })
    expect(await faults.revert('f-plain', 'test')).toMatchObject({ id: 'f-plain', revertVerified: true })
    await expect(faults.bypass('f-unknown', 'test')).rejects.toMatchObject({ code: 'not_found' })
  })
})
