import type { RunReport, WindowReport } from '@gauntlet/contracts'
import { executeRun, parseScenario, SqliteStore } from '@gauntlet/controller'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { embeddedRunDeps, storedRunReport } from '../helpers/embedded-run.js'
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

/**
 * The root cause of real runs (demo target, embedded agent, a real SQLite file), built afterwards from
 * what the run stored, as `gauntlet report` does: a leaking target, a generator that cannot keep the
 * schedule, and a healthy run.
 */
describe('root cause of real runs (demo target, embedded agent)', () => {
  let hooks: RecordingServer
  let target: ChildServer | undefined

  beforeAll(async () => {
    hooks = await startRecordingServer('127.0.0.1', (_request, response) => response.writeHead(204).end())
  })
  afterAll(() => hooks.close())
  afterEach(async () => {
    await target?.stop()
    target = undefined
  })

  /** Runs `yaml` (TARGET and HOOKS filled in); `turn` may change the target's knobs as a window arrives. Returns the stored run's report. */
  async function reportOfRun(
    yaml: string,
    flags: string[],
    turn: (window: WindowReport, knobs: (body: object) => Promise<void>) => Promise<void> = async () => {},
  ): Promise<RunReport> {
    target = await startDemoTarget(...flags)
    const url = target.url
    let finished = false
    const knobs = async (body: object): Promise<void> => {
      const response = await fetch(`${url}/__knobs`, { method: 'PUT', body: JSON.stringify(body) }).catch(
        (error: unknown) => {
          if (!finished) throw error
        },
      )
      if (response) expect(response.status).toBe(200)
    }
    const text = yaml.replaceAll('TARGET', url).replaceAll('HOOKS', hooks.url)
    const db = join(tempDir(), 'g.db')
    const store = new SqliteStore(db)
    let runId: string
    try {
      const summary = await executeRun(embeddedRunDeps(store), {
        scenario: parseScenario(text),
        yaml: text,
        observer: { window: (w) => void turn(w, knobs) },
      })
      runId = summary.runId
    } finally {
      finished = true
      store.close()
    }
    // Later, from the stored run only.
    const stored = new SqliteStore(db)
    try {
      return storedRunReport(stored, runId)
    } finally {
      stored.close()
    }
  }

  it(`a leaking target: the leaking series is suspect #1 by the leak rule, and the rollback and its hook are on \
the timeline`, async () => {
    const report = await reportOfRun(
      `name: leaky
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 50, duration: 5s } ] }
targetMetrics: { url: "TARGET/__metrics", series: [process_resident_memory_bytes], cooldown: 3s }
decision:
  guards:
    - { name: rss-leak, kind: leak, require: "process_resident_memory_bytes growth < 50%" }
hooks:
  onRollback: [ { url: "HOOKS/rollback" } ]
`,
      ['--latency', '2'],
      async (w, knobs) => {
        if (w.index === 0) await knobs({ leakKbPerS: 16_384 })
      },
    )
    const rc = report.rootCause!
    console.log(`leak: ${rc.headline}`)
    expect(rc.suspects[0]).toMatchObject({ rank: 1, kind: 'target-metric', subject: 'process_resident_memory_bytes' })
    expect(rc.suspects[0]!.rankedBy).toMatch(/^grew \d+(\.\d)?% and was still \+\d+(\.\d)?% after the load/)
    expect(rc.suspects[0]!.evidence[0]).toMatch(/\(the leak rule: growth < 50%\)$/)
    expect(rc.suspects.some((s) => s.kind === 'fault' || s.kind === 'generator')).toBe(false)
    expect(rc.timeline.map((e) => e.kind)).toEqual(['rollback', 'hook'])
    expect(rc.timeline[1]!.text).toMatch(
      /^hook onRollback to http:\/\/127\.0\.0\.1:\d+\/rollback: delivered \(1 attempt\)$/,
    )
    expect(rc.headline).toMatch(/most likely target series process_resident_memory_bytes: grew/)
  })

  it(`a generator that cannot keep the schedule (one connection to a 30 ms target, asked for 100 rps) trips a rate \
guard: the load generator is suspect #1 and the target is not blamed`, async () => {
    const report = await reportOfRun(
      `name: starved
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 100, duration: 4s } ], connections: 1 }
decision:
  guards:
    - { name: rate, kind: abort, require: "rps >= 90", minSamples: 20, maxWindow: 2s }
`,
      ['--latency', '30'],
    )
    expect(report.rollback).toMatchObject({ guard: 'rate' })
    const rc = report.rootCause!
    console.log(`generator-limited: ${rc.headline}`)
    expect(rc.suspects.map((s) => s.kind)).toEqual(['generator'])
    expect(rc.suspects[0]!.rankedBy).toMatch(/^generator-limited in \d+(\.\d)?% of the incident's seconds$/)
    expect(rc.suspects[0]!.evidence[0]).toMatch(/^\d+ of \d+ judged seconds were generator-limited/)
    expect(rc.headline).toMatch(/most likely the load generator \(not the target\)/)
    expect(rc.timeline.some((e) => e.kind === 'rollback')).toBe(true)
  })

  it('a healthy run whose guard never trips has no root cause', async () => {
    const report = await reportOfRun(
      `name: healthy
target: { url: "TARGET/orders" }
load: { steps: [ { rps: 50, duration: 3s } ] }
decision:
  guards:
    - { name: errors, kind: abort, require: "error_rate < 50%", minSamples: 50 }
`,
      ['--latency', '2'],
    )
    expect(report.run.verdict).toBe('pass')
    expect(report.rootCause).toBeNull()
  })
})
