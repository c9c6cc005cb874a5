import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ReportGate, type GateTicket, type ReportGateOptions } from '../../apps/controller/src/http/report-gate.js'

/** Which of the tickets' `ready` have settled by now. */
async function admitted(tickets: GateTicket[]): Promise<boolean[]> {
  const seen = tickets.map(() => false)
  tickets.forEach((t, i) => void t.ready.then(() => (seen[i] = true)))
  // Let settled promises run their reactions (microtasks only: no turn passes).
  for (let i = 0; i < 5; i++) await Promise.resolve()
  return seen
}

const options = (overrides: Partial<ReportGateOptions> = {}): ReportGateOptions => ({
  perTurn: 100,
  perTurnBytes: 1_000_000,
  perAgent: 1,
  waitingPerAgent: 10,
  bytes: 1_000_000,
  ...overrides,
})

/** A place for a report of `agent`, which must be given. */
const enter = (gate: ReportGate, agent: string, bytes = 1000): GateTicket => gate.enter(agent, bytes)!

describe('ReportGate', () => {
  it('lets in `perTurn` reports per turn of the event loop, the rest on later turns in arrival order', async () => {
    const gate = new ReportGate(options({ perTurn: 2 }))
    const t = ['a', 'b', 'c', 'd', 'e'].map((agent) => enter(gate, agent))
    expect(await admitted(t)).toEqual([true, true, false, false, false])
    expect(gate.load).toMatchObject({ active: 2, waiting: 3 })
    await nextTurn()
    expect(await admitted(t)).toEqual([true, true, true, true, false])
    await nextTurn()
    expect(await admitted(t)).toEqual([true, true, true, true, true])
    // Nothing holds a place but the reports in progress: the next turn lets in new ones at once.
    await nextTurn()
    expect(await admitted([enter(gate, 'f'), enter(gate, 'g'), enter(gate, 'h')])).toEqual([true, true, false])
  })

  it('lets in `perTurnBytes` of reports per turn, and always one report, however large', async () => {
    const gate = new ReportGate(options({ perTurnBytes: 2500 }))
    const t = [enter(gate, 'a', 1000), enter(gate, 'b', 1000), enter(gate, 'c', 1000), enter(gate, 'd', 9000)]
    // 2000 bytes let in: room for one more, which takes the turn past its bytes.
    expect(await admitted(t)).toEqual([true, true, true, false])
    await nextTurn()
    expect(await admitted(t)).toEqual([true, true, true, true])
    const after = [enter(gate, 'e', 10), enter(gate, 'f', 10)]
    await nextTurn()
    expect(await admitted(after)).toEqual([true, true])
  })

  it(`keeps an agent to perAgent reports in progress; its next waits, and other agents' reports pass it`, async () => {
    const gate = new ReportGate(options())
    const first = enter(gate, 'slow')
    const second = enter(gate, 'slow')
    const other = enter(gate, 'quick')
    expect(await admitted([first, second, other])).toEqual([true, false, false])
    await nextTurn()
    // However long the first one's upload takes, only its own agent waits for it.
    expect(await admitted([first, second, other])).toEqual([true, false, true])
    await nextTurn()
    expect(await admitted([second])).toEqual([false])
    first.done()
    await nextTurn()
    expect(await admitted([second])).toEqual([true])
  })

  it('refuses a place to an agent that already has `waitingPerAgent` reports waiting', () => {
    const gate = new ReportGate(options({ waitingPerAgent: 2 }))
    enter(gate, 'a')
    enter(gate, 'a')
    enter(gate, 'a')
    expect(gate.enter('a', 1000)).toBeUndefined()
    expect(gate.enter('b', 1000)).toBeDefined()
  })

  it('bounds the bytes in progress; one report always fits; later ones wait behind one that does not fit', async () => {
    const gate = new ReportGate(options({ bytes: 3000 }))
    const big = enter(gate, 'a', 5000)
    const small = enter(gate, 'b', 100)
    expect(await admitted([big, small])).toEqual([true, false])
    await nextTurn()
    expect(await admitted([small])).toEqual([false])
    big.done()
    await nextTurn()
    expect(await admitted([small])).toEqual([true])
    const fits = enter(gate, 'c', 2000)
    const tooMuch = enter(gate, 'd', 2000)
    const behind = enter(gate, 'e', 10)
    await nextTurn()
    expect(await admitted([fits, tooMuch, behind])).toEqual([true, false, false])
    expect(gate.load.bytes).toBe(2100)
  })

  it('a report abandoned while waiting gives up its place; done() twice gives back once', async () => {
    const gate = new ReportGate(options())
    const a = enter(gate, 'x')
    const b = enter(gate, 'x')
    const c = enter(gate, 'x')
    b.done()
    expect(gate.load).toEqual({ active: 1, waiting: 1, bytes: 1000 })
    a.done()
    a.done()
    await nextTurn()
    expect(await admitted([c])).toEqual([true])
    expect(gate.load).toEqual({ active: 1, waiting: 0, bytes: 1000 })
    c.done()
    expect(gate.load).toEqual({ active: 0, waiting: 0, bytes: 0 })
    // Its agent may send again.
    expect(await admitted([enter(gate, 'x')])).toEqual([true])
  })
})
