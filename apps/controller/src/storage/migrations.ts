/**
 * Schema migrations, applied in order; PRAGMA user_version records how many have run.
 * Append new migrations; never edit one that has shipped.
 */
export const migrations: readonly string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     scenario TEXT NOT NULL,
     scenario_yaml TEXT NOT NULL,
     target TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     finished_at TEXT,
     summary_json TEXT
   );
   CREATE INDEX runs_by_scenario ON runs (scenario, created_at);
   CREATE TABLE windows (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     step INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     report_json TEXT NOT NULL,
     PRIMARY KEY (run_id, idx)
   );
   CREATE TABLE steps (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     planned_rps REAL NOT NULL,
     verdict TEXT NOT NULL,
     summary_json TEXT NOT NULL,
     PRIMARY KEY (run_id, idx)
   );`,
  `CREATE TABLE scenarios (
     name TEXT PRIMARY KEY,
     yaml TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX runs_by_status ON runs (status);`,
  `CREATE TABLE schedules (
     id TEXT PRIMARY KEY,
     scenario TEXT NOT NULL,
     cron TEXT NOT NULL,
     timezone TEXT NOT NULL,
     concurrency TEXT NOT NULL,
     starting_deadline_s INTEGER NOT NULL,
     paused INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     last_scheduled_at TEXT
   );
   CREATE TABLE schedule_history (
     schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
     scheduled_at TEXT NOT NULL,
     handled_at TEXT NOT NULL,
     outcome TEXT NOT NULL,
     run_id TEXT,
     detail TEXT
   );
   CREATE INDEX schedule_history_by_schedule ON schedule_history (schedule_id, scheduled_at);`,
  `CREATE TABLE agents (
     name TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     capacity_rps REAL NOT NULL,
     version TEXT NOT NULL,
     state TEXT NOT NULL,
     registered_at TEXT NOT NULL,
     last_heartbeat_at TEXT NOT NULL
   );
   CREATE TABLE agent_windows (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     agent TEXT NOT NULL,
     idx INTEGER NOT NULL,
     report_json TEXT NOT NULL,
     PRIMARY KEY (run_id, agent, idx)
   );`,
  `CREATE TABLE decisions (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     at TEXT NOT NULL,
     step INTEGER NOT NULL,
     guard TEXT NOT NULL,
     verdict TEXT NOT NULL,
     action TEXT NOT NULL,
     evidence_json TEXT NOT NULL,
     PRIMARY KEY (run_id, seq)
   );`,
  // Guards' decisions: the condition judged, dry run, and why in words.
  `ALTER TABLE decisions ADD COLUMN condition TEXT;
   ALTER TABLE decisions ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE decisions ADD COLUMN reason TEXT;`,
  // The target's own series (targetMetrics), one row per scrape.
  `CREATE TABLE target_series (
     run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
     series TEXT NOT NULL,
     at_s REAL NOT NULL,
     value REAL NOT NULL
   );
   CREATE INDEX target_series_run ON target_series (run_id, series, at_s);`,
  // What took each decision: window, gate, threshold or leak.
  `ALTER TABLE decisions ADD COLUMN source TEXT;`,
  // Each window's latency percentiles (LatencySummaryMs as JSON), computed once when a merged window is
  // stored, so reading windows never decodes histograms. NULL in agents' own windows and in rows stored
  // before: computed on their first read, and kept.
  `ALTER TABLE windows ADD COLUMN latency_ms_json TEXT;
   ALTER TABLE agent_windows ADD COLUMN latency_ms_json TEXT;`,
  // Steps were written here and never read: a run's steps are in its summary.
  `DROP TABLE steps;`,
  // A mix's per-request latency percentiles ({name: LatencySummaryMs} as JSON), computed when a merged
  // window is stored, so reading one request's windows (?request=) decodes nothing. NULL without a mix.
  `ALTER TABLE windows ADD COLUMN requests_latency_json TEXT;`,
]
