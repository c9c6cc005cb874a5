import { GauntletError, type Decision, type RunSummary } from '@gauntlet/contracts'
import { yamlPool } from '../scenario/yaml-pool.js'
import { queryCredentials, scrubSecrets } from '../security/redact.js'
import type { RunFilter, RunStatus, RunStore, StoredRun, WindowPageQuery } from '../storage/run-store.js'

/** A run in a list: what it ran and how it ended. */
export interface RunListItem {
  id: string
  scenario: string
  target: string
  status: RunStatus
  createdAt: string
  finishedAt: string | null
  verdict: string | null
  capacityRps: number | null
}

/** One run for people: its list item, the agents that carried it and its summary, with no credential in it. */
export interface RunDetail extends RunListItem {
  agents: string[]
  summary: RunSummary | null
}

/** A page of windows as one JSON array text, and the index the next page starts at (null on the last). */
export interface WindowPageJson {
  json: string
  next: number | null
}

/**
 * What the API reads of stored runs. A run's scenario credentials (a target header) never leave in
 * what it returns, even quoted in a reason; an unknown id is a not_found.
 */
export class RunQueries {
  constructor(private readonly store: RunStore) {}

  list(filter: RunFilter): RunListItem[] {
    return this.store.listRuns(filter).map(runListItem)
  }

  /** The stored run, or not_found. */
  run(id: string): StoredRun {
    const run = this.store.getRun(id)
    if (!run) throw new GauntletError('not_found', `no run with id "${id}"`)
    return run
  }

  /** The stored run as it is now, if there is one (it may have finished since it was read). */
  find(id: string): StoredRun | undefined {
    return this.store.getRun(id)
  }

  /** The credentials of the run's scenario, to scrub from anything shown of it. */
  async secrets(run: StoredRun): Promise<string[]> {
    // The run's own target too: a target override replaced the scenario's URL, credentials and all.
    return [...(await yamlPool().secrets(run.scenarioYaml)), ...queryCredentials(run.target)]
  }

  async detail(id: string): Promise<RunDetail> {
    const run = this.run(id)
    // The agents that carried it (known once it ends; the embedded agent has no name).
    const agents = run.summary ? (run.summary.agents?.map((a) => a.name) ?? ['in-process']) : []
    return scrubSecrets({ ...runListItem(run), agents, summary: run.summary }, await this.secrets(run))
  }

  /**
   * Merged windows by default, one remote agent's own with `agent`. Percentiles were stored with each
   * window and each stored window is JSON already, so a page costs a range read: no histogram decoding,
   * no parse.
   */
  windowPage(id: string, query: WindowPageQuery): WindowPageJson {
    this.run(id)
    const page = this.store.windowPage(id, query)
    const windows = page.windowsJson.map(({ report, latencyMs }) => `${report.slice(0, -1)},"latencyMs":${latencyMs}}`)
    return { json: `[${windows.join(',')}]`, next: page.next }
  }

  /** Merged windows from index `from` on, as stored (JSON text): what an event stream replays. */
  windowReports(id: string, from: number, limit: number): { reports: string[]; next: number | null } {
    const page = this.store.windowPage(id, { from, limit })
    return { reports: page.windowsJson.map((w) => w.report), next: page.next }
  }

  decisions(id: string): Decision[] {
    this.run(id)
    return this.store.decisions(id)
  }

  /** The target's own series (targetMetrics): every scrape, in run seconds (negative: before the load). */
  targetSeries(id: string): Record<string, Array<{ atS: number; value: number }>> {
    this.run(id)
    return this.store.targetSeries(id)
  }

  countByStatus(): Partial<Record<RunStatus, number>> {
    return this.store.countRunsByStatus()
  }
}

function runListItem(run: StoredRun): RunListItem {
  return {
    id: run.id,
    scenario: run.scenario,
    target: run.target,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    verdict: run.summary?.verdict ?? null,
    capacityRps: run.summary?.capacityRps ?? null,
  }
}
