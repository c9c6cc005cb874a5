import { maxHeartbeatRuns, type Heartbeat } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { AgentRegistry } from '../../apps/controller/src/agents/agent-registry.js'
import type { AgentStore, StoredAgent } from '../../apps/controller/src/storage/run-store.js'

const beat = (runs: string[] = []): Heartbeat => ({
  url: 'http://127.0.0.1:9001/',
  capacityRps: 100,
  runs,
  version: 't',
})

/** A store that remembers agents as the SQLite store does (one row per name). */
function memoryStore(): AgentStore & { rows: Map<string, StoredAgent> } {
  const rows = new Map<string, StoredAgent>()
  return {
    rows,
    saveAgent: (agent) => void rows.set(agent.name, agent),
    listAgents: () => [...rows.values()],
    forgetAgent: (name) => void rows.delete(name),
  }
}

describe('agent registry caps', () => {
  it('refuses a new name beyond maxAgents with too_many, but keeps taking known ones', () => {
    const registry = new AgentRegistry(() => 0, undefined, { maxAgents: 2 })
    registry.heartbeat('a', beat())
    registry.heartbeat('b', beat())
    expect(() => registry.heartbeat('c', beat())).toThrow(expect.objectContaining({ code: 'too_many' }))
    expect(() => registry.heartbeat('a', beat())).not.toThrow()
    expect(registry.list().map((a) => a.name)).toEqual(['a', 'b'])
  })

  it('forgets an agent lost for longer than the expiry, here and in the store, which frees its place', () => {
    const clock = { now: 0 }
    const store = memoryStore()
    const registry = new AgentRegistry(() => clock.now, store, {
      maxAgents: 1,
      lostAfterMs: 3_000,
      expireAfterMs: 86_400_000,
    })
    registry.heartbeat('old', beat())
    clock.now = 5_000
    registry.sweep()
    expect(registry.list()).toMatchObject([{ name: 'old', state: 'lost' }])
    expect(() => registry.heartbeat('new', beat())).toThrow(expect.objectContaining({ code: 'too_many' }))
    clock.now = 86_400_000 - 1
    registry.sweep()
    expect(registry.list()).toHaveLength(1)
    clock.now = 86_400_000
    registry.sweep()
    expect(registry.list()).toEqual([])
    expect(store.rows.size).toBe(0)
    expect(() => registry.heartbeat('new', beat())).not.toThrow()
    expect(store.rows.has('new')).toBe(true)
  })

  it('never lists more than maxHeartbeatRuns reported runs', () => {
    const registry = new AgentRegistry(() => 0)
    registry.heartbeat('a', beat(Array.from({ length: maxHeartbeatRuns * 3 }, (_, i) => `r${i}`)))
    expect(registry.list()[0]!.reportedRuns).toHaveLength(maxHeartbeatRuns)
  })
})
