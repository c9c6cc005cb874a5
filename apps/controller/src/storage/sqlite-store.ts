import { GauntletError, type Decision, type RunSummary, type Schedule, type WindowReport } from '@gauntlet/contracts'
import { decodeHistogram, summarizeLatency, type LatencySummaryMs } from '@gauntlet/metrics'
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { migrations } from './migrations.js'
import type {
  AgentStore,
  AgentWindowsReport,
  NewRun,
  WindowPage,
  WindowPageQuery,
  RunFilter,
  RunListFilter,
  RunListRow,
  RunStatus,
  RunStore,
  ScenarioStore,
  ScheduleFire,
  ScheduleStore,
  StoredAgent,
  StoredRun,
  StoredScenario,
} from './run-store.js'

interface RunRow {
  id: string
  scenario: string
  scenario_yaml: string
  target: string
  status: RunStatus
  created_at: string
  finished_at: string | null
  summary_json: string | null
}

/** Runs, scenarios and schedules in one SQLite file: WAL, foreign keys, migrations by user_version. */
export class SqliteStore implements RunStore, ScenarioStore, ScheduleStore, AgentStore {
  private readonly db: Database.Database
  private readonly statements

  /** The database file (`:memory:` for one that lives in this process only). */
  readonly file: string

  constructor(file: string) {
    this.file = file
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
      this.db = new Database(file)
      this.db.pragma('journal_mode = WAL')
      // FULL: a window acknowledged by the store survives a power cut, not just a process crash.
      this.db.pragma('synchronous = FULL')
      this.db.pragma('foreign_keys = ON')
      this.db.pragma('busy_timeout = 5000')
      this.migrate()
    } catch (error) {
      throw new GauntletError('storage', `cannot open database ${file}: ${(error as Error).message}`, { cause: error })
    }
    this.statements = {
      createRun: this.db.prepare(
        `INSERT INTO runs (id, scenario, scenario_yaml, target, status, created_at) VALUES (@id, @scenario, ` +
          `@scenarioYaml, @target, 'running', @createdAt)`,
      ),
      saveWindow: this.db.prepare(
        `INSERT INTO windows (run_id, idx, step, started_at, report_json, latency_ms_json, requests_latency_json) ` +
          `VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, idx) DO UPDATE SET report_json = excluded.report_json, ` +
          `latency_ms_json = excluded.latency_ms_json, requests_latency_json = excluded.requests_latency_json`,
      ),
      windowPage: this.db.prepare(
        `SELECT idx, report_json, latency_ms_json, requests_latency_json FROM windows WHERE run_id = ? AND idx >= ? ` +
          `ORDER BY idx LIMIT ?`,
      ),
      agentWindowPage: this.db.prepare(
        `SELECT idx, report_json, latency_ms_json FROM agent_windows WHERE run_id = ? AND agent = ? AND idx ` +
          `>= ? ORDER BY idx LIMIT ?`,
      ),
      windowLatency: this.db.prepare(`SELECT latency_ms_json FROM windows WHERE run_id = ? AND idx = ?`).pluck(),
      fillWindowLatency: this.db.prepare(`UPDATE windows SET latency_ms_json = ? WHERE run_id = ? AND idx = ?`),
      fillAgentWindowLatency: this.db.prepare(
        `UPDATE agent_windows SET latency_ms_json = ? WHERE run_id = ? AND agent = ? AND idx = ?`,
      ),
      finishRun: this.db.prepare(`UPDATE runs SET status = ?, finished_at = ?, summary_json = ? WHERE id = ?`),
      getRun: this.db.prepare(`SELECT * FROM runs WHERE id = ?`),
      listRuns: this.db.prepare(
        `SELECT * FROM runs WHERE (@status IS NULL OR status = @status) AND (@scenario IS NULL OR scenario = @scenario)
         ORDER BY created_at DESC, id DESC LIMIT @limit`,
      ),
      runList: this.db.prepare(runListSql),
      interruptRunning: this.db.prepare(
        `UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'`,
      ),
      countByStatus: this.db.prepare(`SELECT status, count(*) AS n FROM runs GROUP BY status`),
      putScenario: this.db.prepare(
        `INSERT INTO scenarios (name, yaml, updated_at) VALUES (@name, @yaml, @updatedAt)
         ON CONFLICT (name) DO UPDATE SET yaml = excluded.yaml, updated_at = excluded.updated_at`,
      ),
      getScenario: this.db.prepare(`SELECT name, yaml, updated_at AS updatedAt FROM scenarios WHERE name = ?`),
      listScenarios: this.db.prepare(`SELECT name, yaml, updated_at AS updatedAt FROM scenarios ORDER BY name`),
      deleteScenario: this.db.prepare(`DELETE FROM scenarios WHERE name = ?`),
      putSchedule: this.db.prepare(
        `INSERT INTO schedules (id, scenario, cron, timezone, concurrency, starting_deadline_s, paused, ` +
          `created_at, last_scheduled_at)
         VALUES (@id, @scenario, @cron, @timezone, @concurrency, @startingDeadlineS, @paused, @createdAt, ` +
          `@lastScheduledAt)
         ON CONFLICT (id) DO UPDATE SET scenario = excluded.scenario, cron = excluded.cron, ` +
          `timezone = excluded.timezone,
           concurrency = excluded.concurrency, starting_deadline_s = excluded.starting_deadline_s, ` +
          `paused = excluded.paused,
           last_scheduled_at = excluded.last_scheduled_at`,
      ),
      getSchedule: this.db.prepare(`SELECT * FROM schedules WHERE id = ?`),
      listSchedules: this.db.prepare(`SELECT * FROM schedules ORDER BY created_at, id`),
      deleteSchedule: this.db.prepare(`DELETE FROM schedules WHERE id = ?`),
      insertFire: this.db.prepare(
        `INSERT INTO schedule_history (schedule_id, scheduled_at, handled_at, outcome, run_id, detail)
         VALUES (@scheduleId, @scheduledAt, @handledAt, @outcome, @runId, @detail)`,
      ),
      moveLastScheduled: this.db.prepare(
        `UPDATE schedules SET last_scheduled_at = ? WHERE id = ? AND (last_scheduled_at IS NULL OR ` +
          `last_scheduled_at < ?)`,
      ),
      scheduleHistory: this.db.prepare(
        `SELECT schedule_id AS scheduleId, scheduled_at AS scheduledAt, handled_at AS handledAt, outcome, ` +
          `run_id AS runId, detail
         FROM schedule_history WHERE schedule_id = ? ORDER BY scheduled_at DESC, rowid DESC LIMIT ?`,
      ),
      windows: this.db.prepare(`SELECT report_json FROM windows WHERE run_id = ? ORDER BY idx`),
      saveDecision: this.db.prepare(
        `INSERT INTO decisions (run_id, seq, at, step, source, guard, condition, verdict, action, dry_run, reason, ` +
          `evidence_json)
         VALUES (?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM decisions WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      saveTargetPoint: this.db.prepare(`INSERT INTO target_series (run_id, series, at_s, value) VALUES (?, ?, ?, ?)`),
      targetSeries: this.db.prepare(
        `SELECT series, at_s AS atS, value FROM target_series WHERE run_id = ? ORDER BY series, at_s`,
      ),
      decisions: this.db.prepare(
        `SELECT at, step, source, guard, condition, verdict, action, dry_run, reason, evidence_json FROM ` +
          `decisions WHERE run_id = ? ORDER BY seq`,
      ),
      saveAgentWindow: this.db.prepare(
        `INSERT OR IGNORE INTO agent_windows (run_id, agent, idx, report_json, latency_ms_json) VALUES (?, ?, ?, ?, ?)`,
      ),
      agentWindow: this.db.prepare(`SELECT report_json FROM agent_windows WHERE run_id = ? AND agent = ? AND idx = ?`),
      forgetAgent: this.db.prepare(`DELETE FROM agents WHERE name = ?`),
      agentWindows: this.db.prepare(
        `SELECT report_json FROM agent_windows WHERE run_id = ? AND agent = ? ORDER BY idx`,
      ),
      saveAgent: this.db.prepare(
        `INSERT INTO agents (name, url, capacity_rps, version, state, registered_at, last_heartbeat_at)
         VALUES (@name, @url, @capacityRps, @version, @state, @registeredAt, @lastHeartbeatAt)
         ON CONFLICT (name) DO UPDATE SET url = excluded.url, capacity_rps = excluded.capacity_rps, ` +
          `version = excluded.version,
           state = excluded.state, registered_at = excluded.registered_at, ` +
          `last_heartbeat_at = excluded.last_heartbeat_at`,
      ),
      listAgents: this.db.prepare(
        `SELECT name, url, capacity_rps AS capacityRps, version, state, registered_at AS registeredAt, ` +
          `last_heartbeat_at AS lastHeartbeatAt FROM agents ORDER BY name`,
      ),
    }
  }

  createRun(run: NewRun): void {
    this.statements.createRun.run(run)
  }

  saveWindow(runId: string, window: WindowReport): void {
    this.statements.saveWindow.run(
      runId,
      window.index,
      window.step,
      window.startedAt,
      JSON.stringify(window),
      latencyJson(window.latency),
      requestsLatencyJson(window),
    )
  }

  saveWindows(runId: string, windows: readonly WindowReport[]): void {
    const summaries = new LatencyMemo()
    this.db.transaction(() => {
      for (const window of windows)
        this.statements.saveWindow.run(
          runId,
          window.index,
          window.step,
          window.startedAt,
          JSON.stringify(window),
          summaries.of(window.latency),
          requestsLatencyJson(window),
        )
    })()
  }

  /**
   * An agent's own windows, with the percentiles the report check's decode gave (so paging `?agent=`
   * decodes nothing); a window without them has them filled on its first read (windowPage).
   */
  saveAgentWindows(reports: readonly AgentWindowsReport[]): void {
    this.db.transaction(() => {
      for (const { runId, agent, windows, latencyMs } of reports) {
        windows.forEach((window, i) =>
          this.statements.saveAgentWindow.run(
            runId,
            agent,
            window.index,
            JSON.stringify(window),
            latencyMs?.[i] ?? null,
          ),
        )
      }
    })()
  }

  agentWindow(runId: string, agent: string, index: number): WindowReport | undefined {
    const row = this.statements.agentWindow.get(runId, agent, index) as { report_json: string } | undefined
    return row && (JSON.parse(row.report_json) as WindowReport)
  }

  windowPage(runId: string, query: WindowPageQuery): WindowPage {
    type Row = {
      idx: number
      report_json: string
      latency_ms_json: string | null
      requests_latency_json?: string | null
    }
    const { agent, from, limit } = query
    // One row more than asked says whether there is a next page.
    const rows = (
      agent === undefined
        ? this.statements.windowPage.all(runId, from, limit + 1)
        : this.statements.agentWindowPage.all(runId, agent, from, limit + 1)
    ) as Row[]
    const page = rows.slice(0, limit)
    const missing = page.filter((row) => row.latency_ms_json === null)
    if (missing.length > 0) {
      // Rows stored before percentiles were kept: computed once, on their first read, and kept.
      this.db.transaction(() => {
        for (const row of missing) {
          row.latency_ms_json = latencyJson((JSON.parse(row.report_json) as WindowReport).latency)
          if (agent === undefined) this.statements.fillWindowLatency.run(row.latency_ms_json, runId, row.idx)
          else this.statements.fillAgentWindowLatency.run(row.latency_ms_json, runId, agent, row.idx)
        }
      })()
    }
    return {
      windowsJson: page.map((row) => ({
        report: row.report_json,
        latencyMs: row.latency_ms_json!,
        ...(query.requests ? { requestsLatencyMs: row.requests_latency_json ?? null } : {}),
      })),
      next: rows.length > limit ? rows[limit]!.idx : null,
    }
  }

  windowLatency(runId: string, index: number): string | undefined {
    return (this.statements.windowLatency.get(runId, index) as string | null | undefined) ?? undefined
  }

  agentWindows(runId: string, agent: string): WindowReport[] {
    return (this.statements.agentWindows.all(runId, agent) as Array<{ report_json: string }>).map(
      (row) => JSON.parse(row.report_json) as WindowReport,
    )
  }

  saveDecision(runId: string, decision: Decision): void {
    const { at, step, source, guard, condition, verdict, action, dryRun, reason, evidence } = decision
    this.statements.saveDecision.run(
      runId,
      runId,
      at,
      step,
      source ?? null,
      guard,
      condition ?? null,
      verdict,
      action,
      dryRun ? 1 : 0,
      reason ?? null,
      JSON.stringify(evidence),
    )
  }

  decisions(runId: string): Decision[] {
    type Row = Pick<Decision, 'at' | 'step' | 'guard' | 'verdict' | 'action'> & {
      source: Decision['source'] | null
      condition: string | null
      dry_run: number
      reason: string | null
      evidence_json: string
    }
    return (this.statements.decisions.all(runId) as Row[]).map(
      ({ source, condition, dry_run, reason, evidence_json, ...rest }) => ({
        ...(source !== null ? { source } : {}),
        ...rest,
        ...(condition !== null ? { condition } : {}),
        ...(dry_run ? { dryRun: true } : {}),
        ...(reason !== null ? { reason } : {}),
        evidence: JSON.parse(evidence_json) as Decision['evidence'],
      }),
    )
  }

  saveTargetSeries(runId: string, series: ReadonlyMap<string, ReadonlyArray<{ atS: number; value: number }>>): void {
    this.db.transaction(() => {
      for (const [name, points] of series)
        for (const p of points) this.statements.saveTargetPoint.run(runId, name, p.atS, p.value)
    })()
  }

  targetSeries(runId: string): Record<string, Array<{ atS: number; value: number }>> {
    const out: Record<string, Array<{ atS: number; value: number }>> = {}
    for (const row of this.statements.targetSeries.all(runId) as Array<{ series: string; atS: number; value: number }>)
      (out[row.series] ??= []).push({ atS: row.atS, value: row.value })
    return out
  }

  finishRun(runId: string, status: RunStatus, summary: RunSummary): void {
    this.statements.finishRun.run(status, summary.finishedAt, JSON.stringify(summary), runId)
  }

  getRun(runId: string): StoredRun | undefined {
    const row = this.statements.getRun.get(runId) as RunRow | undefined
    return row && toStoredRun(row)
  }

  listRuns(filter: RunFilter): StoredRun[] {
    const rows = this.statements.listRuns.all({
      status: filter.status ?? null,
      scenario: filter.scenario ?? null,
      limit: filter.limit,
    })
    return (rows as RunRow[]).map(toStoredRun)
  }

  runList(filter: RunListFilter): RunListRow[] {
    type Row = Omit<RunListRow, 'worstStep' | 'p99ByStep'> & { worstJson: string | null; p99Json: string }
    const rows = this.statements.runList.all({
      status: filter.status ?? null,
      verdict: filter.verdict ?? null,
      scenario: filter.scenario ?? null,
      since: filter.since ?? null,
      until: filter.until ?? null,
      afterAt: filter.after?.createdAt ?? null,
      afterId: filter.after?.id ?? null,
      limit: filter.limit,
    }) as Row[]
    return rows.map(({ worstJson, p99Json, ...row }) => ({
      ...row,
      worstStep: worstJson === null ? null : (JSON.parse(worstJson) as RunListRow['worstStep']),
      p99ByStep: JSON.parse(p99Json) as Array<number | null>,
    }))
  }

  interruptRunning(): number {
    return this.statements.interruptRunning.run(new Date().toISOString()).changes
  }

  countRunsByStatus(): Partial<Record<RunStatus, number>> {
    const rows = this.statements.countByStatus.all() as Array<{ status: RunStatus; n: number }>
    return Object.fromEntries(rows.map((r) => [r.status, r.n]))
  }

  putScenario(scenario: StoredScenario): void {
    this.statements.putScenario.run(scenario)
  }

  getScenario(name: string): StoredScenario | undefined {
    return this.statements.getScenario.get(name) as StoredScenario | undefined
  }

  listScenarios(): StoredScenario[] {
    return this.statements.listScenarios.all() as StoredScenario[]
  }

  deleteScenario(name: string): boolean {
    return this.statements.deleteScenario.run(name).changes > 0
  }

  windows(runId: string): WindowReport[] {
    return (this.statements.windows.all(runId) as Array<{ report_json: string }>).map(
      (row) => JSON.parse(row.report_json) as WindowReport,
    )
  }

  putSchedule(schedule: Schedule): void {
    this.statements.putSchedule.run({ ...schedule, paused: schedule.paused ? 1 : 0 })
  }

  getSchedule(id: string): Schedule | undefined {
    const row = this.statements.getSchedule.get(id) as ScheduleRow | undefined
    return row && toSchedule(row)
  }

  listSchedules(): Schedule[] {
    return (this.statements.listSchedules.all() as ScheduleRow[]).map(toSchedule)
  }

  deleteSchedule(id: string): boolean {
    return this.statements.deleteSchedule.run(id).changes > 0
  }

  recordFire(fire: ScheduleFire): void {
    this.db.transaction(() => {
      this.statements.insertFire.run(fire)
      this.statements.moveLastScheduled.run(fire.scheduledAt, fire.scheduleId, fire.scheduledAt)
    })()
  }

  scheduleHistory(id: string, limit: number): ScheduleFire[] {
    return this.statements.scheduleHistory.all(id, limit) as ScheduleFire[]
  }

  saveAgent(agent: StoredAgent): void {
    const { name, url, capacityRps, version, state, registeredAt, lastHeartbeatAt } = agent
    this.statements.saveAgent.run({ name, url, capacityRps, version, state, registeredAt, lastHeartbeatAt })
  }

  listAgents(): StoredAgent[] {
    return this.statements.listAgents.all() as StoredAgent[]
  }

  forgetAgent(name: string): void {
    this.statements.forgetAgent.run(name)
  }

  /** Idempotent: the controller's shutdown deadline may close it after its normal path did. */
  close(): void {
    if (this.db.open) this.db.close()
  }

  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number
    if (applied > migrations.length) {
      throw new Error(
        `database schema version ${applied} is newer than this Gauntlet (${migrations.length}); upgrade Gauntlet`,
      )
    }
    for (let version = applied; version < migrations.length; version++) {
      this.db.transaction(() => {
        this.db.exec(migrations[version]!)
        this.db.pragma(`user_version = ${version + 1}`)
      })()
    }
  }
}

/** Worst first: a failed step, then one the generator limited, then one cut short, then a pass. */
const stepVerdictRank = `CASE json_extract(s.value, '$.verdict') WHEN 'fail' THEN 0 WHEN 'generator-limited' THEN 1
  WHEN 'aborted' THEN 2 WHEN 'pass' THEN 4 ELSE 3 END`

/**
 * The run list: the page is chosen first on the runs table alone (keyset on created_at, id), then only
 * its rows have their summary's few numbers read by SQLite's JSON functions: a long history of large
 * summaries costs no parse in JavaScript, and no more than one page of JSON reads in SQLite.
 */
const runListSql = `
  WITH page AS (
    SELECT rowid AS r FROM runs
    WHERE (@status IS NULL OR status = @status)
      AND (@scenario IS NULL OR scenario = @scenario)
      AND (@verdict IS NULL OR json_extract(summary_json, '$.verdict') = @verdict)
      AND (@since IS NULL OR created_at >= @since)
      AND (@until IS NULL OR created_at < @until)
      AND (@afterAt IS NULL OR created_at < @afterAt OR (created_at = @afterAt AND id < @afterId))
    ORDER BY created_at DESC, id DESC
    LIMIT @limit
  )
  SELECT id, scenario, target, status, created_at AS createdAt, finished_at AS finishedAt,
    json_extract(summary_json, '$.verdict') AS verdict,
    json_extract(summary_json, '$.capacityRps') AS capacityRps,
    json_extract(summary_json, '$.startedAt') AS summaryStartedAt,
    json_extract(summary_json, '$.finishedAt') AS summaryFinishedAt,
    (SELECT count(*) FROM json_each(summary_json, '$.faults') f
      WHERE json_extract(f.value, '$.appliedAt') IS NOT NULL) AS faults,
    (SELECT json_group_array(json_extract(s.value, '$.p99Ms') ORDER BY s.key)
      FROM json_each(summary_json, '$.steps') s) AS p99Json,
    (SELECT json_object('index', json_extract(s.value, '$.index'), 'verdict', json_extract(s.value, '$.verdict'),
        'p99Ms', json_extract(s.value, '$.p99Ms'))
      FROM json_each(summary_json, '$.steps') s
      ORDER BY ${stepVerdictRank}, json_extract(s.value, '$.p99Ms') IS NULL, json_extract(s.value, '$.p99Ms') DESC, s.key
      LIMIT 1) AS worstJson
  FROM page JOIN runs ON runs.rowid = page.r
  ORDER BY created_at DESC, id DESC`

/** A window's latency percentiles as stored with it (LatencySummaryMs as JSON). */
/** A mix's per-request percentiles, by name (JSON), or null for a window of one request. */
function requestsLatencyJson(window: WindowReport): string | null {
  if (!window.requests) return null
  const byName: Record<string, LatencySummaryMs> = {}
  for (const [name, counts] of Object.entries(window.requests))
    byName[name] = summarizeLatency(decodeHistogram(counts.latency))
  return JSON.stringify(byName)
}

function latencyJson(encoded: string): string {
  return JSON.stringify(summarizeLatency(decodeHistogram(encoded)))
}

/** Identical histograms (empty seconds, most often) in one batch are decoded once. */
class LatencyMemo {
  private readonly seen = new Map<string, string>()

  of(encoded: string): string {
    let summary = this.seen.get(encoded)
    if (summary === undefined) {
      summary = latencyJson(encoded)
      this.seen.set(encoded, summary)
    }
    return summary
  }
}

function toStoredRun(row: RunRow): StoredRun {
  return {
    id: row.id,
    scenario: row.scenario,
    scenarioYaml: row.scenario_yaml,
    target: row.target,
    status: row.status,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    summary: row.summary_json ? (JSON.parse(row.summary_json) as RunSummary) : null,
  }
}

interface ScheduleRow {
  id: string
  scenario: string
  cron: string
  timezone: string
  concurrency: Schedule['concurrency']
  starting_deadline_s: number
  paused: number
  created_at: string
  last_scheduled_at: string | null
}

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    scenario: row.scenario,
    cron: row.cron,
    timezone: row.timezone,
    concurrency: row.concurrency,
    startingDeadlineS: row.starting_deadline_s,
    paused: row.paused === 1,
    createdAt: row.created_at,
    lastScheduledAt: row.last_scheduled_at,
  }
}
