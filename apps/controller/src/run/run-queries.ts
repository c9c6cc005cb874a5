import { requestWindow } from '../decision/request-view.js'
import { GauntletError, type Decision, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { decodeHistogram, summarizeLatency } from '@gauntlet/metrics'
import { yamlPool } from '../scenario/yaml-pool.js'
import { queryCredentials, scrubSecrets } from '../security/redact.js'
import type {
  RunListFilter,
  RunListRow,
  RunStatus,
  RunStore,
  StoredRun,
  WindowPageQuery,
} from '../storage/run-store.js'

/** A run: what it ran and how it ended. */
export interface RunBasics {
  id: string
  scenario: string
  target: string
  status: RunStatus
  createdAt: string
  finishedAt: string | null
  verdict: string | null
  capacityRps: number | null
}

/** A run in a list: its basics and what a row shows at a glance, all read from its stored summary. */
export interface RunListItem extends RunBasics {
  /** Seconds from its start to its end (the summary's, else createdAt to finishedAt); null while it runs. */
  durationS: number | null
  /** Faults it applied (0 when none, and while it runs). */
  faults: number
  /** The step with the worst verdict, the highest p99 among equals; null without steps. */
  worstStep: { index: number; verdict: string; p99Ms: number | null } | null
  /** Each step's p99 in ms, in step order (null: nothing measured). */
  p99ByStep: Array<number | null>
}

/** The list's filters, the page size and where the page starts (the `next` cursor of the page before). */
export type RunListQuery = Omit<RunListFilter, 'after'> & { before?: string }

/** A page of runs, and the cursor of the next page (null on the last). */
export interface RunListPage {
  items: RunListItem[]
  next: string | null
}

/** One run for people: its basics, the agents that carried it and its summary, with no credential in it. */
export interface RunDetail extends RunBasics {
  agents: string[]
  summary: RunSummary | null
  /** The scenario's planned steps (a gate's hold lengthens a step beyond its plan); absent when unreadable. */
  plan?: { steps: Array<{ index: number; plannedRps: number; durationS: number }> }
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
/** How many runs' plans are kept (a few hundred bytes each). */
const maxRememberedPlans = 1000

export class RunQueries {
  /**
   * Each live window's event data, made once however many streams follow its run: every follower is
   * handed the same window object, and the entry goes with it.
   */
  private readonly liveWindows = new WeakMap<WindowReport, string>()
  /** Each run's planned steps, parsed once (see plan). */
  private readonly plans = new Map<string, RunDetail['plan']>()

  constructor(private readonly store: RunStore) {}

  /**
   * Runs newest first. Paging is by keyset (createdAt, id), so a run started between two pages neither
   * shifts nor repeats what the next page holds. A cursor that is not one this made is a usage problem.
   */
  list(query: RunListQuery): RunListPage {
    const { before, limit, ...filter } = query
    const after = before === undefined ? undefined : decodeRunCursor(before)
    // One row more than asked says whether there is a next page.
    const rows = this.store.runList({ ...filter, ...(after ? { after } : {}), limit: limit + 1 })
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return { items: page.map(listItem), next: rows.length > limit && last ? encodeRunCursor(last) : null }
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
    const plan = await this.plan(run)
    return scrubSecrets(
      { ...runBasics(run), agents, summary: run.summary, ...(plan ? { plan } : {}) },
      await this.secrets(run),
    )
  }

  /**
   * The stored scenario's steps, parsed on the YAML threads once per run (a run's scenario never changes,
   * and a heavy one takes long to parse); one stored under older rules may not parse.
   */
  private async plan(run: StoredRun): Promise<RunDetail['plan']> {
    if (this.plans.has(run.id)) return this.plans.get(run.id)
    let plan: RunDetail['plan']
    try {
      const scenario = await yamlPool().parse(run.scenarioYaml, 'stored scenario')
      plan = { steps: scenario.steps.map((s, index) => ({ index, plannedRps: s.rps, durationS: s.durationS })) }
    } catch (error) {
      // A busy pool is not the scenario's doing: asked again next time. An unreadable one stays unreadable.
      if (!(error instanceof GauntletError && error.code === 'invalid_scenario')) return undefined
      plan = undefined
    }
    // Oldest out first: the runs people look at are the recent ones.
    if (this.plans.size >= maxRememberedPlans) this.plans.delete(this.plans.keys().next().value!)
    this.plans.set(run.id, plan)
    return plan
  }

  /**
   * Merged windows by default, one remote agent's own with `agent`. Percentiles were stored with each
   * window and each stored window is JSON already, so a page costs a range read: no histogram decoding,
   * no parse.
   */
  windowPage(id: string, query: WindowPageQuery & { request?: string }): WindowPageJson {
    this.run(id)
    const { request, ...range } = query
    if (request === undefined) {
      const page = this.store.windowPage(id, range)
      return { json: `[${page.windowsJson.map(withLatency).join(',')}]`, next: page.next }
    }
    // One request of a mix: each window seen as that request's own, with the percentiles stored for it.
    const page = this.store.windowPage(id, { ...range, requests: true })
    const views = page.windowsJson.map(({ report, requestsLatencyMs }) => {
      const view = requestWindow(JSON.parse(report) as WindowReport, request)
      const byName = requestsLatencyMs ? (JSON.parse(requestsLatencyMs) as Record<string, unknown>) : {}
      const stored = Object.hasOwn(byName, request) ? byName[request] : undefined
      const latencyMs = stored ?? summarizeLatency(decodeHistogram(view.latency))
      return JSON.stringify({ ...view, latencyMs })
    })
    return { json: `[${views.join(',')}]`, next: page.next }
  }

  /**
   * Merged windows from index `from` on, as stored, each with its latencyMs (JSON text): what an event
   * stream replays.
   */
  windowReports(id: string, from: number, limit: number): { reports: string[]; next: number | null } {
    const page = this.store.windowPage(id, { from, limit })
    return { reports: page.windowsJson.map(withLatency), next: page.next }
  }

  /**
   * A live window as an event stream sends it: the same JSON as a replayed one. Its percentiles are
   * the ones stored with it (it is stored before it is published); decoded here only if they are not.
   */
  liveWindowJson(runId: string, window: WindowReport): string {
    let json = this.liveWindows.get(window)
    if (json === undefined) {
      const latencyMs =
        this.store.windowLatency(runId, window.index) ??
        JSON.stringify(summarizeLatency(decodeHistogram(window.latency)))
      json = withLatency({ report: JSON.stringify(window), latencyMs })
      this.liveWindows.set(window, json)
    }
    return json
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

/** A stored window's JSON with its latency percentiles' JSON as `latencyMs`, joined as text (no parse). */
function withLatency({ report, latencyMs }: { report: string; latencyMs: string }): string {
  return `${report.slice(0, -1)},"latencyMs":${latencyMs}}`
}

function runBasics(run: StoredRun): RunBasics {
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

function listItem(row: RunListRow): RunListItem {
  const { summaryStartedAt, summaryFinishedAt, faults, worstStep, p99ByStep, ...basics } = row
  const [from, to] =
    summaryStartedAt && summaryFinishedAt ? [summaryStartedAt, summaryFinishedAt] : [row.createdAt, row.finishedAt]
  const ms = to === null ? NaN : Date.parse(to) - Date.parse(from)
  // The target's own query credentials (?api_key=...) are masked as the detail masks them; the list parses
  // no scenario YAML, so credentials elsewhere in a scenario never reach it (it shows no scenario text).
  const target = scrubSecrets(basics.target, queryCredentials(basics.target))
  return { ...basics, target, durationS: Number.isFinite(ms) ? ms / 1000 : null, faults, worstStep, p99ByStep }
}

/** The place of a run in the list, as an opaque token: its createdAt and id, base64url. */
function encodeRunCursor(run: { createdAt: string; id: string }): string {
  return Buffer.from(`${run.createdAt}|${run.id}`).toString('base64url')
}

const cursorPattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)\|([A-Za-z0-9][A-Za-z0-9_-]{0,99})$/

/** A cursor this made, or a usage problem naming `before` (a forged or garbled one is never a 500). */
function decodeRunCursor(cursor: string): { createdAt: string; id: string } {
  const match = cursorPattern.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match || Number.isNaN(Date.parse(match[1]!))) {
    const message = 'is not a cursor of this list (use the Link rel="next" of the page before)'
    throw new GauntletError('usage', `before ${message}`, { problems: [{ path: '/querystring/before', message }] })
  }
  return { createdAt: match[1]!, id: match[2]! }
}
