import { AgentFaults } from '@gauntlet/agent'
import type { FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { FakeFaultEngine } from '../helpers/fake-fault-engine.js'

const spec: FaultSpec = {
  id: 'f-1',
  type: 'partition',
  target: { container: 'orders-1' },
  mechanism: 'iptables',
  durationMs: 60_000,
}

/** An engine that remembers the end each apply was given. */
class UntilEngine extends FakeFaultEngine {
  readonly untils: number[] = []
  override apply(s: FaultSpec, untilEpochMs?: number) {
    this.untils.push(untilEpochMs!)
    return super.apply(s, untilEpochMs)
  }
}

/**
 * An order's untilEpochMs is on the controller's clock; the engine's timers and holders run on this
 * host's. The agent converts with its heartbeat-measured offset (controller = local + offsetMs).
 */
describe('AgentFaults: a fault ends on time on this host’s clock', () => {
  const now = 5_000_000_000

  it.each([
    ['controller ahead by 90 s', 90_000],
    ['controller behind by 40 s', -40_000],
    ['clocks agree', 0],
  ])('%s: the engine gets untilEpochMs - offsetMs', async (_what, offsetMs) => {
    const engine = new UntilEngine({ 'orders-1': {} })
    const faults = new AgentFaults(
      engine,
      engine,
      'host',
      () => {},
      () => now,
      () => offsetMs,
    )
    const controllerUntil = now + offsetMs + 60_000
    await faults.apply({ spec, untilEpochMs: controllerUntil })
    expect(engine.untils).toEqual([now + 60_000])
  })

  it('judges past and too-far ends on the converted time', async () => {
    const engine = new UntilEngine({ 'orders-1': {} })
    const offsetMs = 3_600_000
    const faults = new AgentFaults(
      engine,
      engine,
      'host',
      () => {},
      () => now,
      () => offsetMs,
    )
    // In the future on this host's clock, but in the past once converted.
    await expect(faults.apply({ spec, untilEpochMs: now + 1_000 })).rejects.toMatchObject({
      code: 'invalid_scenario',
      message: expect.stringMatching(/untilEpochMs .* in the past/) as string,
    })
    // 24 h ahead of the controller's now is fine even though it is 25 h ahead of the raw local time.
    await faults.apply({ spec, untilEpochMs: now + offsetMs + 24 * 3_600_000 })
    expect(engine.untils).toEqual([now + 24 * 3_600_000])
  })
})
