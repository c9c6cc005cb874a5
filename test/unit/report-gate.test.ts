import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ReportGate } from '../../apps/controller/src/http/report-gate.js'

/** Which of the tickets' `ready` have settled by now. */
async function admitted(tickets: Array<{ ready: Promise<void> }>): Promise<boolean[]> {
  const seen = tickets.map(() => false)
  tickets.forEach((t, i) => void t.ready.then(() => (seen[i] = true)))
  // Let settled promises run their reactions (microtasks only: no turn passes).
  for (let i = 0; i < 5; i++) await Promise.resolve()
  return seen
}

describe('ReportGate', () => {
  it('lets in at most `slots` reports; the next waits until one is done, and gets in a turn later', async () => {
    const gate = new ReportGate(2)
    const t = [gate.enter(), gate.enter(), gate.enter(), gate.enter()]
    expect(await admitted(t)).toEqual([true, true, false, false])
    expect(gate.load).toEqual({ active: 2, waiting: 2 })
    await nextTurn()
    expect(await admitted(t)).toEqual([true, true, false, false])
    t[0]!.done()
    // Not in the same turn: the loop polls its sockets first.
    expect(await admitted(t)).toEqual([true, true, false, false])
    await nextTurn()
    expect(await admitted(t)).toEqual([true, true, true, false])
    expect(gate.load).toEqual({ active: 2, waiting: 1 })
  })

  it('keeps arrival order: a newcomer does not pass reports already waiting', async () => {
    const gate = new ReportGate(1)
    const first = gate.enter()
    const second = gate.enter()
    first.done()
    const third = gate.enter()
    await nextTurn()
    expect(await admitted([second, third])).toEqual([true, false])
  })

  it('a report abandoned while waiting gives up its place; done() twice frees one slot only', async () => {
    const gate = new ReportGate(1)
    const a = gate.enter()
    const b = gate.enter()
    const c = gate.enter()
    b.done()
    expect(gate.load).toEqual({ active: 1, waiting: 1 })
    a.done()
    a.done()
    await nextTurn()
    expect(await admitted([c])).toEqual([true])
    expect(gate.load).toEqual({ active: 1, waiting: 0 })
    c.done()
    expect(gate.load).toEqual({ active: 0, waiting: 0 })
  })
})
