import type { WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, mergeEncoded, summarizeLatency } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { intakeBatch } from '../../apps/controller/src/agents/window-intake-batch.js'
import { WindowIntake } from '../../apps/controller/src/agents/window-intake.js'
import type { AgentWindowsReport } from '../../apps/controller/src/storage/run-store.js'
import { join } from 'node:path'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { bucket } from '../helpers/buckets.js'
import { tempDir } from '../helpers/cli.js'

/** A store that keeps what it is given, one entry per transaction. */
function memoryStore() {
  const transactions: AgentWindowsReport[][] = []
  return {
    transactions,
    saveAgentWindows: (reports: readonly AgentWindowsReport[]) => void transactions.push([...reports]),
    agentWindow: (runId: string, agent: string, index: number): WindowReport | undefined =>
      transactions
        .flat()
        .find((r) => r.runId === runId && r.agent === agent)
        ?.windows.find((w) => w.index === index),
  }
}

const windowAt = (index: number, latenciesUs: number[]): WindowReport => bucket(index, { latenciesUs })

describe('WindowIntake (on this thread, as without a database file)', () => {
  it('checks and stores the reports of one turn in one transaction, each acknowledged once it is stored', async () => {
    const store = memoryStore()
    const intake = new WindowIntake(store)
    const a = windowAt(0, [1000, 2000])
    const b = windowAt(0, [3000])
    const bad = { ...windowAt(1, [1000]), latency: windowAt(1, [1, 2]).latency }
    const results = await Promise.all([
      intake.take({ runId: 'r', agent: 'a', windows: [a], store: true }),
      intake.take({ runId: 'r', agent: 'b', windows: [b], store: true }),
      intake.take({ runId: 'r', agent: 'c', windows: [bad], store: true }),
      // The run's own checks failed: checked, never stored.
      intake.take({ runId: 'r', agent: 'd', windows: [a], store: false }),
    ])
    expect(results.map((r) => [r.stored, r.own])).toEqual([
      [true, [[]]],
      [true, [[]]],
      [false, [['latency histogram holds 2 values but ok is 1']]],
      [false, [[]]],
    ])
    expect(store.transactions.map((t) => t.map((r) => r.agent))).toEqual([['a', 'b']])
    // Each stored window keeps the percentiles of its own decode, for the agent view.
    expect(store.transactions[0]![0]!.latencyMs).toEqual([JSON.stringify(summarizeLatency(mergeEncoded([a.latency])))])
    expect(intake.delivered('r', 'a', 0)).toEqual(a)
    expect(intake.delivered('r', 'd', 0)).toBeUndefined()
  })

  it('hands over each window as decoded, to merge exactly as the library would', async () => {
    const intake = new WindowIntake(memoryStore())
    const windows = [windowAt(0, [5, 900, 3_599_000_000]), windowAt(1, [1, 1, 2])]
    const { latency } = await intake.take({ runId: 'r', agent: 'a', windows, store: true })
    const merged = createLatencyHistogram()
    for (const decoded of latency) decoded!.addTo(merged)
    expect(encodeHistogram(merged)).toBe(encodeHistogram(mergeEncoded(windows.map((w) => w.latency))))
  })

  it('splits what waits into batches of at most `reports` reports and `histogramChars` characters', async () => {
    const store = memoryStore()
    const windows = [windowAt(0, [1000, 2000])]
    const chars = windows[0]!.latency.length
    const intake = new WindowIntake(store, undefined, { reports: 3, histogramChars: 2 * chars })
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((agent) => intake.take({ runId: 'r', agent, windows, store: true })),
    )
    expect(store.transactions.map((t) => t.map((r) => r.agent).join(''))).toEqual(['ab', 'cd', 'ef', 'g'])
    const few = new WindowIntake(store, undefined, { reports: 3, histogramChars: 100 * chars })
    store.transactions.length = 0
    await Promise.all(['h', 'i', 'j', 'k'].map((agent) => few.take({ runId: 'r', agent, windows, store: true })))
    expect(store.transactions.map((t) => t.map((r) => r.agent).join(''))).toEqual(['hij', 'k'])
  })

  it('a failing store fails the batch: no report of it is acknowledged', async () => {
    const intake = new WindowIntake({
      saveAgentWindows: () => {
        throw new Error('disk full')
      },
      agentWindow: () => undefined,
    })
    await expect(intake.take({ runId: 'r', agent: 'a', windows: [windowAt(0, [10])], store: true })).rejects.toThrow(
      'disk full',
    )
  })
})

describe('WindowIntake with a database file (on its thread)', () => {
  it('stores through its own connection before acknowledging: the controller reads what it acknowledged', async () => {
    const store = new SqliteStore(join(tempDir(), 'intake.db'))
    store.createRun({
      id: 'r1',
      scenario: 'demo',
      scenarioYaml: 'name: demo',
      target: 'http://127.0.0.1/',
      createdAt: '2026-01-01T00:00:00.000Z',
    })
    const intake = new WindowIntake(store, store.file)
    try {
      const windows = [windowAt(0, [100, 200]), windowAt(1, [300])]
      const [stored, refused] = await Promise.all([
        intake.take({ runId: 'r1', agent: 'a', windows, store: true }),
        intake.take({ runId: 'r1', agent: 'b', windows: [{ ...windows[0]!, ok: 1 }], store: true }),
      ])
      expect(stored.stored).toBe(true)
      expect(refused.stored).toBe(false)
      expect(store.agentWindow('r1', 'a', 1)).toEqual(windows[1])
      expect(store.agentWindow('r1', 'b', 0)).toBeUndefined()
      const merged = createLatencyHistogram()
      for (const decoded of stored.latency) decoded!.addTo(merged)
      expect(encodeHistogram(merged)).toBe(encodeHistogram(mergeEncoded(windows.map((w) => w.latency))))
    } finally {
      await intake.close()
      store.close()
    }
  })
})

describe('intakeBatch (what the intake thread runs)', () => {
  it('replies with plain data only (it crosses threads by structured clone)', () => {
    const replies = intakeBatch(memoryStore(), [
      { runId: 'r', agent: 'a', windows: [windowAt(0, [10, 20])], store: true },
    ])
    expect(structuredClone(replies)).toEqual(replies)
  })
})
