import { emptyErrorCounts, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import type { AgentClient } from '../../apps/controller/src/agents/agent-client.js'
import { AgentRegistry } from '../../apps/controller/src/agents/agent-registry.js'
import { RemoteAgents } from '../../apps/controller/src/agents/remote-agents.js'
import type { AppliedFault, FaultInjector, LoadAgent } from '../../apps/controller/src/run/ports.js'
import { executeRun } from '../../apps/controller/src/run/run-service.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import type { IntakeRequest, WindowIntake } from '../../apps/controller/src/agents/window-intake.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'

/**
 * A bug in one run ends that run, never the process: a throw inside any of a run's timers, listeners
 * or callbacks ends the run as `error` with a reason. (Were one to escape, vitest would report it as
 * an unhandled error and the run's promise would never settle.)
 */
const scenario = parseScenario(
  'name: bug\ntarget: { url: "http://127.0.0.1:9/" }\nload:\n  steps: [{ rps: 2, duration: 3s }]\n',
)

const latency = (count: number): string => {
  const h = createLatencyHistogram()
  for (let i = 0; i < count; i++) recordLatencyUs(h, 1_000)
  return encodeHistogram(h)
}
const window = (index: number, ok: number): WindowReport => ({
  index,
  step: 0,
  startedAt: Date.now(),
  planned: ok,
  sent: ok,
  dispatched: ok,
  dropped: 0,
  ok,
  errors: emptyErrorCounts(),
  latency: latency(ok),
  lateSends: 0,
  maxSendLagMs: 0,
  generatorLimited: false,
  complete: true,
  openConnections: 1,
})

describe('a throw inside a run', () => {
  it('in the lost-agent timer of a distributed run: that run fails with a reason, the process does not', async () => {
    let nowMs = 1_700_000_000_000
    const registry = new AgentRegistry(() => nowMs)
    registry.heartbeat('a', { url: 'http://127.0.0.1:1/', capacityRps: 10, runs: [], version: 't' })
    registry.heartbeat('b', { url: 'http://127.0.0.1:2/', capacityRps: 10, runs: [], version: 't' })
    const client = {
      assign: async () => {},
      replan: () => Promise.resolve(true),
      stop: async () => {},
    } as unknown as AgentClient
    const commits = {
      take: (r: IntakeRequest) => Promise.resolve({ own: r.windows.map(() => []), latency: [], stored: true }),
      delivered: () => undefined,
    } as unknown as WindowIntake
    const remote = new RemoteAgents(registry, client, commits, () => nowMs)
    registry.startSweeping(5)
    let started!: () => void
    const onStart = new Promise<void>((resolve) => (started = resolve))
    const outcome = remote.run(scenario, {
      runId: 'r1',
      signal: new AbortController().signal,
      onStart: () => started(),
      onWindow: () => {
        throw new Error('a bug while storing the merged window')
      },
    })
    try {
      await onStart
      // a delivers second 0; b owes it too, so nothing merges yet.
      expect(await registry.ingest('a', { runId: 'r1', windows: [window(0, 1)] })).toBe(true)
      // b falls silent: the sweeper's timer declares it lost, second 0 merges, and the merge's consumer throws.
      registry.heartbeat('a', { url: 'http://127.0.0.1:1/', capacityRps: 10, runs: ['r1'], version: 't' })
      nowMs += 3_500
      registry.heartbeat('a', { url: 'http://127.0.0.1:1/', capacityRps: 10, runs: ['r1'], version: 't' })
      await expect(outcome).rejects.toThrow(/^the run failed while handling a lost agent: internal error$/)
    } finally {
      registry.stop()
    }
  })

  it('in a report of a distributed run: the report fails, and so does that run', async () => {
    const registry = new AgentRegistry()
    registry.heartbeat('a', { url: 'http://127.0.0.1:1/', capacityRps: 10, runs: [], version: 't' })
    const client = {
      assign: async () => {},
      replan: () => Promise.resolve(true),
      stop: async () => {},
    } as unknown as AgentClient
    const commits = {
      take: (r: IntakeRequest) => Promise.resolve({ own: r.windows.map(() => []), latency: [], stored: true }),
      delivered: () => undefined,
    } as unknown as WindowIntake
    let started!: () => void
    const onStart = new Promise<void>((resolve) => (started = resolve))
    const outcome = new RemoteAgents(registry, client, commits).run(scenario, {
      runId: 'r2',
      signal: new AbortController().signal,
      onStart: () => started(),
      onWindow: () => {
        throw new Error('a bug in the merge')
      },
    })
    await onStart
    await expect(registry.ingest('a', { runId: 'r2', windows: [window(0, 1)] })).rejects.toThrow(
      /the run failed while merging an agent's report/,
    )
    // The bug's own words stay out of the stored reason.
    await expect(outcome).rejects.toThrow(/^the run failed while merging an agent's report: internal error$/)
  })

  it('in a load timer of any run: the run ends as error with the reason, and is stored', async () => {
    const store = new SqliteStore(':memory:')
    store.saveWindow = () => {
      throw new Error('disk full')
    }
    // A load that reports its first window from a timer, as the embedded agent does, and stops when asked.
    const agent: LoadAgent = {
      run: (_scenario, options) =>
        new Promise((resolve) => {
          options.onStart?.(Date.now())
          setTimeout(() => options.onWindow(window(0, 1)), 5)
          options.signal.addEventListener('abort', () => resolve({ aborted: true, peakConnections: 1 }), { once: true })
        }),
    }
    const summary = await executeRun(
      { store, agent, probe: () => Promise.resolve(undefined), clock: { now: () => new Date() } },
      { scenario, yaml: '' },
    )
    expect(summary.status).toBe('error')
    expect(summary.verdict).toBe('error')
    expect(summary.reasons).toEqual(['the run failed while storing a window: internal error'])
    expect(store.getRun(summary.runId)?.status).toBe('error')
    store.close()
  })

  it('in a phase no phase expected (storing the verdict): faults reverted, stored as error, the error rethrown', async () => {
    const store = new SqliteStore(':memory:')
    const reverted: string[] = []
    let onApplied = (): void => undefined
    const faultApplied = new Promise<void>((resolve) => (onApplied = resolve))
    const injector: FaultInjector = {
      prepare: (spec) => Promise.resolve(spec),
      apply: () => {
        onApplied()
        return Promise.resolve(applied(null))
      },
      revert: (id) => {
        reverted.push(id)
        return Promise.resolve(applied(new Date().toISOString()))
      },
    }
    const withFault = parseScenario(
      'name: bug\ntarget: { url: "http://127.0.0.1:9/" }\nload:\n  steps: [{ rps: 2, duration: 1s }]\n' +
        'faults:\n  - { type: partition, target: { container: app }, at: 0s, duration: 10s }\n',
    )
    // The load ends before the fault's planned end, so only the run's own revert can end it.
    const agent: LoadAgent = {
      run: async (_scenario, options) => {
        options.onStart?.(Date.now())
        await faultApplied
        options.onWindow(window(0, 1))
        return { aborted: false, peakConnections: 1 }
      },
    }
    const finishRun = store.finishRun.bind(store)
    let calls = 0
    // The first write of the verdict fails (a full disk, say); the error record after it succeeds.
    store.finishRun = (...args) => {
      if (calls++ === 0) throw new Error('disk full')
      finishRun(...args)
    }
    const outcome = executeRun(
      { store, agent, faults: injector, probe: () => Promise.resolve(undefined), clock: { now: () => new Date() } },
      { scenario: withFault, yaml: '' },
    )
    await expect(outcome).rejects.toThrow('disk full')
    expect(reverted).toHaveLength(1)
    const [run] = store.listRuns({ limit: 1 })
    expect(store.getRun(run!.id)).toMatchObject({ status: 'error', summary: { reasons: ['internal error'] } })
    store.close()
  })
})

function applied(revertedAt: string | null): AppliedFault {
  return { targets: ['app'], appliedAt: new Date().toISOString(), revertedAt, revertVerified: true, notes: [] }
}
