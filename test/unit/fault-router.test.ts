import { GauntletError, type AgentFaultReport, type FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import type { FaultHolder } from '../../apps/controller/src/agents/fault-holders.js'
import { FaultRouter } from '../../apps/controller/src/agents/fault-router.js'

const spec: FaultSpec = {
  id: 'f-1',
  type: 'partition',
  target: { service: 'orders' },
  mechanism: 'auto',
  durationMs: 1000,
}

/** A holder whose engine has `containers` (or refuses with `refusal`), recording what it was asked. */
function holder(key: string, containers: string[], own = false) {
  const asked: string[] = []
  const report = (id: string): AgentFaultReport => ({
    id,
    type: 'partition',
    mechanism: 'iptables',
    targets: containers,
    appliedAt: 'a',
    untilAt: 'u',
    revertedAt: null,
    revertVerified: false,
    notes: [],
  })
  const refuse = () => new GauntletError('not_found', `no running container with compose service "orders"`)
  const h: FaultHolder = {
    key,
    ...(own ? {} : { agent: key }),
    label: own ? "the controller's Docker engine" : `agent ${key}`,
    prepare: (s, check) => {
      asked.push(`prepare ${s.id}${check ? ' (check)' : ''}`)
      return containers.length
        ? Promise.resolve({ spec: { ...s, mechanism: 'iptables' }, targets: containers })
        : Promise.reject(refuse())
    },
    apply: (s, _until, runId) => {
      asked.push(`apply ${s.id} ${s.mechanism} ${runId ?? '-'}`)
      return Promise.resolve(report(s.id))
    },
    revert: (id) => {
      asked.push(`revert ${id}`)
      return containers.length ? Promise.resolve({ ...report(id), revertVerified: true }) : Promise.reject(refuse())
    },
    list: () => Promise.resolve([]),
  }
  return { h, asked }
}

/** Which holder gets a fault, what it says when none can, and which runs each agent is told are live. */
describe('FaultRouter', () => {
  it('gives a fault to the first holder that can, applies and reverts it there, and names its run meanwhile', async () => {
    const a = holder('a', [])
    const b = holder('b', ['orders-1'])
    const c = holder('c', ['orders-1'])
    const router = new FaultRouter(
      () => [a.h, b.h, c.h],
      () => 'none',
    )
    const prepared = await router.prepare(spec)
    expect(prepared.mechanism).toBe('iptables')
    const applied = await router.apply(prepared, 0, { run: 'run-1' })
    expect(applied).toMatchObject({ agent: 'b', targets: ['orders-1'] })
    // c matched the same containers (one engine, two agents): no note.
    expect(applied.notes).toEqual([])
    expect(router.faultRunsOf('b')).toEqual(['run-1'])
    expect(router.faultRunsOf('c')).toEqual([])
    expect(await router.revert('f-1', 'end')).toMatchObject({ agent: 'b', revertVerified: true })
    expect(router.faultRunsOf('b')).toEqual([])
    expect(b.asked).toEqual(['prepare f-1', 'apply f-1 iptables run-1', 'revert f-1'])
    expect(c.asked).toEqual(['prepare f-1'])
  })

  it('notes when agents on other engines also hold matching containers', async () => {
    const router = new FaultRouter(
      () => [holder('a', ['orders-1']).h, holder('b', ['orders-2']).h],
      () => 'none',
    )
    const applied = await router.apply(spec, 0)
    expect(applied.notes).toEqual(["agent b holds matching containers too: this fault acts on agent a's only"])
  })

  it('refuses with 409 naming the target and every answer, or that no holder exists', async () => {
    const router = new FaultRouter(
      () => [holder('a', []).h, holder('b', []).h],
      () => 'none',
    )
    const refusal = router.assertPlaceable([spec])
    await expect(refusal).rejects.toMatchObject({ code: 'conflict' })
    await expect(refusal).rejects.toThrow(
      /compose service "orders": agent a: no running container .*; agent b: no running container/,
    )
    const empty = new FaultRouter(
      () => [],
      () => 'no agent started with --docker is connected',
    )
    await expect(empty.prepare(spec)).rejects.toThrow(/no agent started with --docker is connected/)
  })

  it('a placement check only checks: no holder is asked to start anything for the fault', async () => {
    const a = holder('a', ['orders-1'])
    const b = holder('b', ['orders-1'])
    const router = new FaultRouter(
      () => [a.h, b.h],
      () => 'none',
    )
    await router.assertPlaceable([spec])
    expect(a.asked).toEqual(['prepare f-1 (check)'])
    expect(b.asked).toEqual(['prepare f-1 (check)'])
    // The run's own prepare is the real one (warm holders may start then).
    await router.prepare(spec)
    expect(a.asked).toEqual(['prepare f-1 (check)', 'prepare f-1'])
  })

  it("the controller's own engine alone passes its refusal through as it is (404)", async () => {
    const router = new FaultRouter(
      () => [holder('controller', [], true).h],
      () => 'none',
    )
    await expect(router.prepare(spec)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('a fault it does not know is reverted by whoever holds it; 404 when nobody does', async () => {
    const a = holder('a', [])
    const b = holder('b', ['orders-1'])
    const router = new FaultRouter(
      () => [a.h, b.h],
      () => 'none',
    )
    expect(await router.revert('f-9', 'by hand')).toMatchObject({ agent: 'b', revertVerified: true })
    const nobody = new FaultRouter(
      () => [a.h],
      () => 'none',
    )
    await expect(nobody.revert('f-9', 'by hand')).rejects.toMatchObject({ code: 'not_found' })
  })
})
