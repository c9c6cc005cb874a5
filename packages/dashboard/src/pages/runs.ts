// Runs, newest first: filters in the hash query (a filtered view can be shared and reloaded), a row per
// run with its outcome, capacity and a p99 sparkline by step, and "Older runs" following the API's
// Link rel="next" cursor.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, apiPage } from '../api.js'
import { dash, formatDuration, formatMs, formatTime } from '../components/format.js'
import { Sparkline } from '../components/sparkline.js'
import { Verdict } from '../components/verdict.js'
import { href } from '../router.js'

/** A row of GET /api/runs. Fields after capacityRps come from newer controllers: "—" when absent. */
export interface RunListItem {
  id: string
  scenario: string
  target: string
  status: string
  createdAt: string
  finishedAt: string | null
  verdict: string | null
  capacityRps: number | null
  durationS?: number | null
  faults?: number
  worstStep?: { index: number; verdict: string; p99Ms: number | null } | null
  p99ByStep?: Array<number | null>
}

const statuses = ['running', 'passed', 'failed', 'aborted', 'interrupted', 'error']
const verdicts = ['pass', 'fail', 'error']
/** The hash query keys that are filters (and sent to the API as they are, dates made instants). */
const filterKeys = ['status', 'verdict', 'scenario', 'since', 'until'] as const
type Filters = Record<(typeof filterKeys)[number], string>

export function RunsPage({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(filterKeys.map((k) => [k, query.get(k) ?? ''])) as Filters
  const limit = query.get('limit') ?? ''
  const key = query.toString()
  const [rows, setRows] = useState<RunListItem[] | undefined>(undefined)
  const [next, setNext] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState(false)

  // Only the latest request counts: an "Older runs" page that answers after the filters changed would
  // otherwise mix two lists (and keep the wrong next link).
  const latest = useRef(0)
  const load = async (path: string, append: boolean): Promise<void> => {
    const mine = ++latest.current
    setLoading(true)
    setError(undefined)
    try {
      const page = await apiPage<RunListItem[]>(path)
      if (mine !== latest.current) return
      setRows((old) => (append && old ? [...old, ...page.items] : page.items))
      setNext(page.next)
    } catch (e) {
      if (mine !== latest.current) return
      setError(describe(e))
      if (!append) setRows(undefined)
    } finally {
      if (mine === latest.current) setLoading(false)
    }
  }

  useEffect(() => {
    void load(listPath(filters, limit), false)
  }, [key])

  const filtered = filterKeys.some((k) => filters[k])
  return html`
    <h1>Runs</h1>
    <${FilterForm} filters=${filters} limit=${limit} key=${key} />
    ${error ? html`<p class="error-box" role="alert">Could not load runs: ${error}</p>` : null}
    ${
      rows === undefined
        ? error
          ? null
          : html`<p class="muted" aria-live="polite">Loading runs…</p>`
        : rows.length === 0
          ? html`<p class="empty">
              ${filtered ? 'No run matches these filters.' : 'No runs yet. Start one from Scenarios or POST /api/runs.'}
            </p>`
          : html`<div class="table-wrap">
              <table class="runs-table">
                <caption class="muted">
                  Newest first${rows.length ? ` · ${rows.length} shown` : ''}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Outcome</th>
                    <th scope="col">Scenario</th>
                    <th scope="col">Target</th>
                    <th scope="col">Started</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Capacity</th>
                    <th scope="col">Worst step</th>
                    <th scope="col">Faults</th>
                    <th scope="col">p99 by step</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map((run) => html`<${RunRow} key=${run.id} run=${run} />`)}
                </tbody>
              </table>
            </div>`
    }
    ${
      next
        ? html`<p>
            <button type="button" class="older-runs" disabled=${loading} onClick=${() => void load(next, true)}>
              ${loading ? 'Loading…' : 'Older runs'}
            </button>
          </p>`
        : null
    }
  `
}

function RunRow({ run }: { run: RunListItem }) {
  const duration =
    run.durationS ?? (run.finishedAt ? (Date.parse(run.finishedAt) - Date.parse(run.createdAt)) / 1000 : undefined)
  return html`<tr data-run=${run.id}>
    <td>
      <a href=${href('runs', run.id)}><${Verdict} status=${run.status} verdict=${run.verdict} /></a>
    </td>
    <td><a href=${href('runs', run.id)}>${run.scenario}</a></td>
    <td class="target" title=${run.target}>${run.target}</td>
    <td>${formatTime(run.createdAt)}</td>
    <td>${run.status === 'running' ? 'running' : formatDuration(duration)}</td>
    <td>${run.capacityRps === null ? dash : `${run.capacityRps} rps`}</td>
    <td>${worstStep(run.worstStep)}</td>
    <td>${run.faults === undefined ? dash : run.faults > 0 ? `yes (${run.faults})` : 'no'}</td>
    <td><${Sparkline} values=${run.p99ByStep ?? []} label="p99 by step" unit="ms" /></td>
  </tr>`
}

function worstStep(step: RunListItem['worstStep']): string {
  if (!step) return dash
  return `step ${step.index + 1}: ${step.verdict}, p99 ${formatMs(step.p99Ms)}`
}

/** The filters as a form: submitting rewrites the hash query, which reloads the list. */
function FilterForm({ filters, limit }: { filters: Filters; limit: string }) {
  const submit = (event: Event): void => {
    event.preventDefault()
    const data = new FormData(event.target as HTMLFormElement)
    const query: Record<string, string> = {}
    for (const k of filterKeys) query[k] = (data.get(k) as string | null)?.trim() ?? ''
    if (limit) query.limit = limit
    location.hash = href('runs', undefined, query)
  }
  const reset = (): void => {
    location.hash = href('runs', undefined, limit ? { limit } : {})
  }
  return html`<form class="run-filters" onSubmit=${submit} aria-label="Filter runs">
    <div>
      <label for="f-status">Status</label>
      <select id="f-status" name="status" value=${filters.status}>
        <option value="">any</option>
        ${statuses.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </div>
    <div>
      <label for="f-verdict">Verdict</label>
      <select id="f-verdict" name="verdict" value=${filters.verdict}>
        <option value="">any</option>
        ${verdicts.map((v) => html`<option value=${v}>${v}</option>`)}
      </select>
    </div>
    <div>
      <label for="f-scenario">Scenario</label>
      <input id="f-scenario" name="scenario" value=${filters.scenario} autocomplete="off" />
    </div>
    <div>
      <label for="f-since">From (day)</label>
      <input id="f-since" name="since" type="date" value=${filters.since} />
    </div>
    <div>
      <label for="f-until">To (day, inclusive)</label>
      <input id="f-until" name="until" type="date" value=${filters.until} />
    </div>
    <div class="filter-actions">
      <button type="submit">Filter</button>
      <button type="button" onClick=${reset}>Clear</button>
    </div>
  </form>`
}

/** The API path for the filters: days are this viewer's local days, sent as instants. */
export function listPath(filters: Filters, limit: string): string {
  const params = new URLSearchParams()
  if (filters.status) params.set('status', filters.status)
  if (filters.verdict) params.set('verdict', filters.verdict)
  if (filters.scenario) params.set('scenario', filters.scenario)
  const since = dayStart(filters.since, 0)
  const until = dayStart(filters.until, 1)
  if (since) params.set('since', since)
  if (until) params.set('until', until)
  if (/^\d+$/.test(limit)) params.set('limit', limit)
  const search = params.toString()
  return `/api/runs${search ? `?${search}` : ''}`
}

/** Local midnight of `day` plus `plusDays`, as an ISO instant ("until" a day means before the next one starts). */
function dayStart(day: string, plusDays: number): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (!match) return undefined
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays).toISOString()
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const problems = error.problem?.problems?.map((p) => `${p.path}: ${p.message}`).join('; ')
    return problems ? `${error.message} (${problems})` : error.message
  }
  return error instanceof Error ? error.message : String(error)
}
