import { emptyErrorCounts, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import Database from 'better-sqlite3'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { migrations } from '../../apps/controller/src/storage/migrations.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'

const dbFile = () => join(mkdtempSync(join(tmpdir(), 'gauntlet-store-')), 'runs.db')
const run = {
  id: 'r1',
  scenario: 'demo',
  scenarioYaml: 'name: demo',
  target: 'http://127.0.0.1/',
  createdAt: '2026-01-01T00:00:00.000Z',
}
/** A histogram of `count` responses of `ms` each. */
const latencyOf = (count: number, ms = 5): string => {
  const h = createLatencyHistogram()
  for (let i = 0; i < count; i++) recordLatencyUs(h, ms * 1000)
  return encodeHistogram(h)
}
const window = (index: number, ok: number, ms = 5): WindowReport => ({
  index,
  step: 0,
  startedAt: 1000 * index,
  planned: ok,
  sent: ok,
  dispatched: ok,
  dropped: 0,
  ok,
  errors: emptyErrorCounts(),
  latency: latencyOf(ok, ms),
  lateSends: 0,
  maxSendLagMs: 0,
  generatorLimited: false,
  complete: true,
  openConnections: 1,
})
type PagedWindow = WindowReport & { latencyMs: { count: number; p50Ms: number | null } }
const parsePage = (page: { windowsJson: Array<{ report: string; latencyMs: string }> }): PagedWindow[] =>
  page.windowsJson.map(({ report, latencyMs }) => ({
    ...(JSON.parse(report) as WindowReport),
    latencyMs: JSON.parse(latencyMs) as PagedWindow['latencyMs'],
  }))
const summary = { runId: 'r1', verdict: 'pass', finishedAt: '2026-01-01T00:01:00.000Z' } as RunSummary

describe('SQLite run store (real file)', () => {
  it('keeps runs and windows across reopening, in WAL mode', () => {
    const file = dbFile()
    const store = new SqliteStore(file)
    store.createRun(run)
    store.saveWindow('r1', window(0, 10))
    store.saveWindow('r1', window(1, 20))
    store.close()

    const reopened = new SqliteStore(file)
    expect(reopened.getRun('r1')).toMatchObject({ status: 'running', scenario: 'demo', summary: null })
    expect(reopened.windows('r1').map((w) => w.ok)).toEqual([10, 20])
    reopened.finishRun('r1', 'passed', summary)
    expect(reopened.getRun('r1')).toMatchObject({ status: 'passed', summary: { verdict: 'pass' } })
    reopened.close()
    const raw = new Database(file)
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(raw.pragma('user_version', { simple: true })).toBe(migrations.length)
    raw.close()
  })

  it('drops the steps table of an older database (written, never read: steps are in the summary)', () => {
    const file = dbFile()
    const old = new Database(file)
    // The database as it was just before the migration that drops the table.
    const before = migrations.findIndex((m) => m.includes('DROP TABLE steps'))
    for (const migration of migrations.slice(0, before)) old.exec(migration)
    old.pragma(`user_version = ${before}`)
    old
      .prepare(
        `INSERT INTO runs (id, scenario, scenario_yaml, target, status, created_at) VALUES ('r1', 'demo', '', ` +
          `'', 'passed', '')`,
      )
      .run()
    old
      .prepare(`INSERT INTO steps (run_id, idx, planned_rps, verdict, summary_json) VALUES ('r1', 0, 10, 'pass', '{}')`)
      .run()
    old.close()

    new SqliteStore(file).close()
    const raw = new Database(file)
    const tables = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()
    expect(tables).not.toContain('steps')
    expect(tables).toContain('runs')
    expect(raw.prepare(`SELECT id FROM runs`).pluck().all()).toEqual(['r1'])
    raw.close()
  })

  it('stores a window delivered twice once (idempotent), keeping the latest copy', () => {
    const store = new SqliteStore(dbFile())
    store.createRun(run)
    store.saveWindow('r1', window(3, 5))
    store.saveWindow('r1', window(3, 7))
    expect(store.windows('r1')).toHaveLength(1)
    expect(store.windows('r1')[0]!.ok).toBe(7)
    store.close()
  })

  it('refuses windows of an unknown run (foreign keys on)', () => {
    const store = new SqliteStore(dbFile())
    expect(() => store.saveWindow('nope', window(0, 1))).toThrow(/FOREIGN KEY/)
    store.close()
  })

  it('refuses a database written by a newer Gauntlet instead of corrupting it', () => {
    const file = dbFile()
    const raw = new Database(file)
    raw.pragma(`user_version = ${migrations.length + 1}`)
    raw.close()
    expect(() => new SqliteStore(file)).toThrow(/newer than this Gauntlet/)
  })

  it('lists runs newest first', () => {
    const store = new SqliteStore(dbFile())
    store.createRun(run)
    store.createRun({ ...run, id: 'r2', createdAt: '2026-01-02T00:00:00.000Z' })
    expect(store.listRuns({ limit: 10 }).map((r) => r.id)).toEqual(['r2', 'r1'])
    expect(store.listRuns({ limit: 10, status: 'running', scenario: 'demo' })).toHaveLength(2)
    expect(store.listRuns({ limit: 1 }).map((r) => r.id)).toEqual(['r2'])
    expect(store.listRuns({ limit: 10, status: 'passed' })).toEqual([])
    store.close()
  })

  it('marks runs a previous process left running as interrupted, keeping their windows', () => {
    const file = dbFile()
    const first = new SqliteStore(file)
    first.createRun(run)
    first.saveWindow('r1', window(0, 10))
    first.createRun({ ...run, id: 'r2' })
    first.finishRun('r2', 'passed', { ...summary, runId: 'r2' })
    first.close() // as if the process died mid-run
    const second = new SqliteStore(file)
    expect(second.interruptRunning()).toBe(1)
    expect(second.getRun('r1')).toMatchObject({ status: 'interrupted' })
    expect(second.getRun('r1')!.finishedAt).not.toBeNull()
    expect(second.windows('r1')).toHaveLength(1)
    expect(second.countRunsByStatus()).toEqual({ interrupted: 1, passed: 1 })
    second.close()
  })

  it('pages windows by index with the percentiles stored at ingest, and says where the next page starts', () => {
    const store = new SqliteStore(dbFile())
    store.createRun(run)
    store.saveWindows(
      'r1',
      [0, 1, 2, 3, 4].map((i) => window(i, i, 10 * (i + 1))),
    )
    const first = store.windowPage('r1', { from: 0, limit: 2 })
    // HDR percentiles are bucket bounds: within 0.1% of the recorded value.
    expect(
      parsePage(first).map((w) => [w.index, w.latencyMs.count, w.latencyMs.p50Ms && Math.round(w.latencyMs.p50Ms)]),
    ).toEqual([
      [0, 0, null],
      [1, 1, 20],
    ])
    expect(first.next).toBe(2)
    const last = store.windowPage('r1', { from: 3, limit: 2 })
    expect(parsePage(last).map((w) => w.index)).toEqual([3, 4])
    expect(last.next).toBeNull()
    expect(store.windowPage('r1', { from: 99, limit: 2 })).toEqual({ windowsJson: [], next: null })
    store.close()
  })

  it('computes the percentiles of rows stored before they were kept on their first read, and keeps them', () => {
    const file = dbFile()
    const store = new SqliteStore(file)
    store.createRun(run)
    store.saveWindow('r1', window(0, 3, 7))
    store.saveAgentWindows([{ runId: 'r1', agent: 'a', windows: [window(0, 2, 9)] }])
    store.close()
    const raw = new Database(file)
    raw.exec('UPDATE windows SET latency_ms_json = NULL; UPDATE agent_windows SET latency_ms_json = NULL')
    raw.close()
    const reopened = new SqliteStore(file)
    expect(parsePage(reopened.windowPage('r1', { from: 0, limit: 10 }))[0]!.latencyMs).toMatchObject({
      count: 3,
      p50Ms: expect.closeTo(7, 1) as number,
    })
    expect(parsePage(reopened.windowPage('r1', { from: 0, limit: 10, agent: 'a' }))[0]!.latencyMs).toMatchObject({
      count: 2,
      p50Ms: expect.closeTo(9, 1) as number,
    })
    reopened.close()
    const check = new Database(file)
    expect(check.prepare('SELECT count(*) AS n FROM windows WHERE latency_ms_json IS NULL').get()).toEqual({ n: 0 })
    expect(check.prepare('SELECT count(*) AS n FROM agent_windows WHERE latency_ms_json IS NULL').get()).toEqual({
      n: 0,
    })
    check.close()
  })

  it('finds one agent window by index, keeping the first of a repeated one', () => {
    const store = new SqliteStore(dbFile())
    store.createRun(run)
    store.saveAgentWindows([{ runId: 'r1', agent: 'a', windows: [window(4, 2)] }])
    store.saveAgentWindows([{ runId: 'r1', agent: 'a', windows: [window(4, 3)] }])
    expect(store.agentWindow('r1', 'a', 4)?.ok).toBe(2)
    expect(store.agentWindow('r1', 'a', 5)).toBeUndefined()
    expect(store.agentWindow('r1', 'b', 4)).toBeUndefined()
    store.close()
  })

  it('keeps named scenarios: put replaces, delete says whether there was one', () => {
    const store = new SqliteStore(dbFile())
    store.putScenario({ name: 'b', yaml: 'v1', updatedAt: '2026-01-01T00:00:00.000Z' })
    store.putScenario({ name: 'a', yaml: 'v1', updatedAt: '2026-01-01T00:00:00.000Z' })
    store.putScenario({ name: 'b', yaml: 'v2', updatedAt: '2026-01-02T00:00:00.000Z' })
    expect(store.listScenarios().map((s) => [s.name, s.yaml])).toEqual([
      ['a', 'v1'],
      ['b', 'v2'],
    ])
    expect(store.getScenario('b')).toEqual({ name: 'b', yaml: 'v2', updatedAt: '2026-01-02T00:00:00.000Z' })
    expect(store.deleteScenario('b')).toBe(true)
    expect(store.deleteScenario('b')).toBe(false)
    expect(store.getScenario('b')).toBeUndefined()
    store.close()
  })
})
