// One run, live and afterwards. First load: the run, its stored windows (paged) and decisions; then,
// while it runs, its event stream from exactly that position (Last-Event-ID <windows>-<decisions>).
// Windows are kept by index and decisions by their place in the run, so a replay after a reconnect
// can never add a gap or a duplicate. The page redraws at most once a second.
import type { Decision, FaultRecord, ObservedStep, RunSummary } from '@gauntlet/contracts'
import { html } from 'htm/preact'
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { api, ApiError, apiPage } from '../api.js'
import { buildChartData, isNotableDecision, uniqueWindows, type RunWindow } from '@gauntlet/chart-data'
import { AbortButton } from '../components/confirm-abort.js'
import { ActionWord, DecisionLog, Evidence } from '../components/decision-log.js'
import { dash, formatDuration, formatTime } from '../components/format.js'
import { ReportDownloads } from '../components/report-downloads.js'
import { RequestTable } from '../components/request-table.js'
import { RunCharts } from '../components/run-charts.js'
import { Verdict } from '../components/verdict.js'
import { followRunEvents, type SseEvent } from '../run-events.js'
import { href } from '../router.js'

export interface RunDetail {
  id: string
  scenario: string
  target: string
  status: string
  createdAt: string
  finishedAt: string | null
  verdict: string | null
  capacityRps: number | null
  agents: string[]
  summary: RunSummary | null
  /** A newer controller may say the plan while the run goes (step durations): time left needs it. */
  plan?: { steps?: Array<{ index: number; durationS: number; plannedRps?: number }> }
}

interface FaultView {
  id: string
  type: string
  mechanism: string
  targets: string[]
  untilAt: string
  revertedAt: string | null
}

interface AgentView {
  name: string
  state: string
  capacityRps: number
  runs: string[]
}

/** What the page knows of the run; mutated by events, drawn on the next tick. */
interface LiveRun {
  detail: RunDetail
  windows: Map<number, RunWindow>
  decisions: Decision[]
  steps: Map<number, ObservedStep>
  status: string
  summary: RunSummary | null
  targetSeries: Record<string, Array<{ atS: number; value: number }>>
  faults: FaultView[]
  agents: AgentView[] | undefined
  /** Warnings told live while the run goes (an agent's report refused); the summary lists them at the end. */
  warnings: string[]
  /** undefined: not following (finished); false: dropped, reconnecting. */
  connected: boolean | undefined
  aborting: boolean
}

const base = (id: string): string => `/api/runs/${encodeURIComponent(id)}`

/** Loads every stored window, a page at a time (Link rel="next"). */
async function storedWindows(id: string): Promise<RunWindow[]> {
  const all: RunWindow[] = []
  let path: string | undefined = `${base(id)}/windows?limit=3600`
  while (path) {
    const page: { items: RunWindow[]; next: string | undefined } = await apiPage<RunWindow[]>(path)
    all.push(...page.items)
    path = page.next
  }
  return all
}

function useLiveRun(id: string): { run: LiveRun | undefined; version: number; error: string | undefined } {
  const model = useRef<LiveRun | undefined>(undefined)
  const [version, setVersion] = useState(0)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    const stop = new AbortController()
    let dirty = false
    const redraw = (): void => {
      dirty = false
      setVersion((v) => v + 1)
    }
    const changed = (): void => void (dirty = true)
    const tick = setInterval(() => {
      if (dirty) redraw()
    }, 1_000)
    const refreshSide = async (run: LiveRun): Promise<void> => {
      // Faults and agents are not in the event stream: read now and then while the run goes.
      const [faults, agents, series] = await Promise.all([
        api<FaultView[]>('GET', '/api/faults').catch(() => run.faults),
        api<AgentView[]>('GET', '/api/agents').catch(() => run.agents),
        api<LiveRun['targetSeries']>('GET', `${base(id)}/target-metrics`).catch(() => run.targetSeries),
      ])
      run.faults = faults
      run.agents = agents
      run.targetSeries = series
      changed()
    }
    void (async () => {
      try {
        const detail = await api<RunDetail>('GET', base(id))
        const [windows, decisions, targetSeries] = await Promise.all([
          storedWindows(id),
          api<Decision[]>('GET', `${base(id)}/decisions`),
          api<LiveRun['targetSeries']>('GET', `${base(id)}/target-metrics`).catch(() => ({})),
        ])
        if (stop.signal.aborted) return
        const run: LiveRun = {
          detail,
          windows: new Map(windows.map((w) => [w.index, lean(w)])),
          decisions,
          steps: new Map((detail.summary?.steps ?? []).map((s) => [s.index, s])),
          status: detail.status,
          summary: detail.summary,
          targetSeries,
          faults: [],
          agents: undefined,
          warnings: [],
          connected: detail.status === 'running' ? false : undefined,
          aborting: false,
        }
        model.current = run
        redraw()
        if (detail.status !== 'running') return
        void refreshSide(run)
        const side = setInterval(() => void refreshSide(run), 2_000)
        stop.signal.addEventListener('abort', () => clearInterval(side))
        let next = 0
        for (const index of run.windows.keys()) next = Math.max(next, index + 1)
        await followRunEvents(id, {
          lastEventId: `${next}-${decisions.length}`,
          signal: stop.signal,
          onConnection: (connected) => {
            run.connected = connected
            redraw()
          },
          onFatal: (e) => setError(e.message),
          onEvent: (event) => {
            if (apply(run, event)) changed()
            if (run.status !== 'running') {
              clearInterval(side)
              run.connected = undefined
              redraw()
              // The agents that carried it and the final target series are known now.
              void api<RunDetail>('GET', base(id))
                .then((d) => (run.detail = d))
                .then(() => refreshSide(run))
                .catch(() => undefined)
            }
          },
        })
      } catch (e) {
        if (!stop.signal.aborted) setError(e instanceof ApiError || e instanceof Error ? e.message : String(e))
      }
    })()
    return () => {
      stop.abort()
      clearInterval(tick)
    }
  }, [id])
  return { run: model.current, version, error }
}

/**
 * A window as the page keeps it: without its histogram (the charts read latencyMs), so a day-long run's
 * 86,400 windows stay small in the tab.
 */
function lean(w: RunWindow): RunWindow {
  return { ...w, latency: '' }
}

/** Applies one event; true when it changed something. */
function apply(run: LiveRun, event: SseEvent): boolean {
  try {
    const data: unknown = JSON.parse(event.data)
    switch (event.event) {
      case 'window': {
        const w = data as RunWindow
        run.windows.set(w.index, lean(w))
        return true
      }
      case 'decision': {
        // The event's id says how many decisions the client has with this one: its place in the run.
        const count = /^\d+-(\d+)$/.exec(event.id ?? '')?.[1]
        if (count === undefined) run.decisions.push(data as Decision)
        else run.decisions[Number(count) - 1] = data as Decision
        return true
      }
      case 'step': {
        const step = data as ObservedStep
        run.steps.set(step.index, step)
        return true
      }
      case 'warning': {
        run.warnings.push((data as { text: string }).text)
        return true
      }
      case 'status': {
        const { status, summary } = data as { status: string; summary: RunSummary | null }
        run.status = status
        if (summary) {
          run.summary = summary
          for (const s of summary.steps) run.steps.set(s.index, s)
        }
        return true
      }
    }
  } catch {
    // A malformed event is skipped; the stored windows stay the truth (a reload shows them).
  }
  return false
}

export function RunPage({ id }: { id: string }) {
  const { run, version, error } = useLiveRun(id)
  const chart = useMemo(() => {
    if (!run) return undefined
    const summary = run.summary
    return buildChartData({
      windows: run.windows.values(),
      steps: [...run.steps.values()].sort((a, b) => a.index - b.index),
      decisions: run.decisions.filter(Boolean),
      faults: summary?.faults ?? [],
      rollback: summary?.rollback,
      startedAt: summary?.startedAt ?? run.detail.createdAt,
      targetSeries: run.targetSeries,
    })
  }, [run, version])
  if (error && !run)
    return html`<h1>Run ${id}</h1>
      <p class="error-box" role="alert">Could not load this run: ${error}</p>
      <p><a href=${href('runs')}>All runs</a></p>`
  if (!run || !chart)
    return html`<h1>Run ${id}</h1>
      <p class="muted" aria-live="polite">Loading…</p>`
  const windows = uniqueWindows(run.windows.values())
  const last = windows[windows.length - 1]
  const running = run.status === 'running'
  const decisions = run.decisions.filter(Boolean)
  const notable = decisions.filter(isNotableDecision)
  return html`
    <p><a href=${href('runs')}>← All runs</a></p>
    <h1>${run.detail.scenario} <span class="muted run-id">${id}</span></h1>
    ${error ? html`<p class="error-box" role="alert">${error}</p>` : null}
    <${Header} run=${run} lastIndex=${last?.index} />
    ${
      running
        ? html`${
              run.warnings.length
                ? html`<ul class="warnings" role="status">
                    ${run.warnings.map((w) => html`<li><span aria-hidden="true">⚠ </span>${w}</li>`)}
                  </ul>`
                : null
            }
            <div class="run-live">
              <${StepPanel} run=${run} windows=${windows} decisions=${decisions} />
              <${FaultsPanel} run=${run} lastFaults=${last?.faults ?? []} />
              <${AgentsPanel} run=${run} />
            </div>`
        : html`<${FinalPanel} run=${run} />`
    }
    <${RunCharts} data=${chart} />
    <${DecisionLog} decisions=${notable} quiet=${decisions.length - notable.length} />
    ${!running && run.status !== 'interrupted' ? html`<${ReportDownloads} runId=${id} />` : null}
  `
}

function Header({ run, lastIndex }: { run: LiveRun; lastIndex: number | undefined }) {
  const { detail, summary } = run
  const running = run.status === 'running'
  const seconds = lastIndex === undefined ? 0 : lastIndex + 1
  return html`<dl class="run-header">
    <div>
      <dt>Status</dt>
      <dd class="run-status">
        <${Verdict} status=${run.status} verdict=${summary?.verdict ?? detail.verdict} />
        ${running && run.aborting ? html` <span class="muted">aborting…</span>` : null}
      </dd>
    </div>
    <div>
      <dt>Target</dt>
      <dd class="target">${detail.target}</dd>
    </div>
    <div>
      <dt>Started</dt>
      <dd>${formatTime(summary?.startedAt ?? detail.createdAt)}</dd>
    </div>
    <div>
      <dt>${running ? 'Second' : 'Duration'}</dt>
      <dd class="run-second" aria-live="off">${running ? seconds : formatDuration(runDuration(run))}</dd>
    </div>
    ${
      running
        ? html`<div>
            <dt>Stream</dt>
            <dd class="stream-state" aria-live="polite">
              ${run.connected ? 'live' : html`<span class="warn">reconnecting…</span>`}
            </dd>
          </div>`
        : null
    }
    <div>
      <dt>Agents</dt>
      <dd>${agentNames(run)}</dd>
    </div>
    ${
      running
        ? html`<div class="run-actions">
            <${AbortButton}
              runId=${detail.id}
              onAborting=${() => {
                run.aborting = true
              }}
            />
          </div>`
        : null
    }
  </dl>`
}

function runDuration(run: LiveRun): number | undefined {
  const start = run.summary?.startedAt ?? run.detail.createdAt
  const end = run.summary?.finishedAt ?? run.detail.finishedAt
  return end ? (Date.parse(end) - Date.parse(start)) / 1000 : undefined
}

function agentNames(run: LiveRun): string {
  if (run.detail.agents.length) return run.detail.agents.join(', ')
  const carrying = run.agents?.filter((a) => a.runs.includes(run.detail.id)).map((a) => a.name)
  if (carrying?.length) return carrying.join(', ')
  return run.status === 'running' ? 'in-process (no remote agent assigned)' : dash
}

/** The current step, its time so far (and left, when the plan is known) and the step gate's state. */
function StepPanel({ run, windows, decisions }: { run: LiveRun; windows: RunWindow[]; decisions: Decision[] }) {
  const last = windows[windows.length - 1]
  if (!last)
    return html`<section class="panel step-panel" aria-labelledby="step-title">
      <h2 id="step-title">Current step</h2>
      <p class="muted">Waiting for the first second.</p>
    </section>`
  const first = windows.find((w) => w.step === last.step)!
  const inStep = last.index + 1 - first.index
  const planned = run.detail.plan?.steps?.find((s) => s.index === last.step)?.durationS
  const left = planned === undefined ? undefined : planned - inStep
  const stepDecisions = decisions.filter((d) => d.step === last.step)
  const gate = latestGroup(stepDecisions.filter((d) => d.source === 'gate' || d.source === 'threshold'))
  // The latest verdict of each guard's spans: where the gate's next judgement is heading.
  const guards = new Map<string, Decision>()
  for (const d of stepDecisions) if (d.source === 'window') guards.set(d.guard, d)
  return html`<section class="panel step-panel" aria-labelledby="step-title">
    <h2 id="step-title">Current step</h2>
    <p class="current-step">
      Step <strong>${last.step + 1}</strong>${` · ${last.planned} rps planned · ${formatDuration(inStep)} in step · `}${
        left === undefined
          ? `time left ${dash}`
          : left >= 0
            ? `${formatDuration(left)} left`
            : `held ${formatDuration(-left)} past plan`
      }
    </p>
    <h3>Step gate</h3>
    ${
      gate.length === 0
        ? html`<p class="gate-state muted">
            No gate decision in this step yet (the gate judges at the step's planned end).
          </p>`
        : html`<ul class="gate-state">
            ${gate.map(
              (d) =>
                html`<li>
                  <${ActionWord} action=${d.action} dryRun=${d.dryRun} /> — ${d.guard}: ${d.reason ?? d.verdict}
                  <br /><${Evidence} decision=${d} />
                </li>`,
            )}
          </ul>`
    }
    ${
      guards.size
        ? html`<h3>Guards now</h3>
            <ul class="guards-now">
              ${[...guards.values()].map(
                (d) => html`<li>${d.guard}: <strong>${d.verdict}</strong> <${Evidence} decision=${d} /></li>`,
              )}
            </ul>`
        : null
    }
  </section>`
}

/** The decisions taken together at the latest moment (a gate decides once per guard). */
function latestGroup(decisions: Decision[]): Decision[] {
  const last = decisions[decisions.length - 1]
  return last ? decisions.filter((d) => d.at === last.at) : []
}

/** Faults in place now: this run's (by id) from GET /api/faults, and any a window names that the list lacks. */
function FaultsPanel({ run, lastFaults }: { run: LiveRun; lastFaults: string[] }) {
  const prefix = `${run.detail.id.toLowerCase()}-`
  const active = run.faults.filter(
    (f) => f.revertedAt === null && (lastFaults.includes(f.id) || f.id.startsWith(prefix)),
  )
  const unlisted = lastFaults.filter((id) => !active.some((f) => f.id === id))
  const now = Date.now()
  return html`<section class="panel" aria-labelledby="faults-title">
    <h2 id="faults-title">Active faults</h2>
    ${
      active.length === 0 && unlisted.length === 0
        ? html`<p class="muted">None now.</p>`
        : html`<ul class="active-faults">
            ${active.map(
              (f) =>
                html`<li>
                  <strong>${f.type}</strong> by ${f.mechanism} on ${f.targets.join(', ') || dash} ·
                  ${formatDuration((Date.parse(f.untilAt) - now) / 1000)} left
                </li>`,
            )}
            ${unlisted.map((id) => html`<li><strong>${id}</strong> (mechanism ${dash}, time left ${dash})</li>`)}
          </ul>`
    }
  </section>`
}

function AgentsPanel({ run }: { run: LiveRun }) {
  const carrying = run.agents?.filter((a) => a.runs.includes(run.detail.id)) ?? []
  return html`<section class="panel" aria-labelledby="agents-title">
    <h2 id="agents-title">Agents</h2>
    ${
      carrying.length === 0
        ? html`<p class="muted">The controller's embedded agent (no remote agent assigned).</p>`
        : html`<ul>
            ${carrying.map((a) => html`<li>${a.name}: ${a.state}, ${a.capacityRps} rps capacity</li>`)}
          </ul>`
    }
  </section>`
}

/** The outcome once the run ended: verdict, capacity, reasons, warnings, rollback, faults, each step's requests (a mix). */
function FinalPanel({ run }: { run: LiveRun }) {
  const s = run.summary
  if (!s)
    return html`<section class="panel final">
      <h2>Outcome</h2>
      <p><${Verdict} status=${run.status} verdict=${run.detail.verdict} /> — no summary was stored.</p>
    </section>`
  return html`<section class="panel final" aria-labelledby="final-title">
    <h2 id="final-title">Outcome</h2>
    <p class="final-verdict">
      <${Verdict} status=${s.status} verdict=${s.verdict} /> · capacity
      ${s.capacityRps === null ? dash : `${s.capacityRps} rps`}
      ${s.degraded ? html` · <span class="warn">degraded (an agent was lost)</span>` : null}
    </p>
    ${s.rollback ? html`<p>Rolled back at step ${s.rollback.step + 1}: ${s.rollback.reason}</p>` : null}
    ${
      s.reasons.length
        ? html`<ul class="reasons">
            ${s.reasons.map((r) => html`<li>${r}</li>`)}
          </ul>`
        : null
    }
    ${
      s.warnings.length
        ? html`<ul class="warnings">
            ${s.warnings.map((w) => html`<li><span aria-hidden="true">⚠ </span>${w}</li>`)}
          </ul>`
        : null
    }
    ${s.faults?.length ? html`<${FaultTable} faults=${s.faults} />` : null}
    ${s.steps.filter((step) => step.requests).map((step) => html`<${RequestTable} key=${step.index} step=${step} />`)}
  </section>`
}

function FaultTable({ faults }: { faults: FaultRecord[] }) {
  return html`<div class="table-wrap">
    <table>
      <caption>
        Faults
      </caption>
      <thead>
        <tr>
          <th scope="col">Fault</th>
          <th scope="col">Mechanism</th>
          <th scope="col">Applied</th>
          <th scope="col">Reverted</th>
          <th scope="col">Notes</th>
        </tr>
      </thead>
      <tbody>
        ${faults.map(
          (f) =>
            html`<tr>
              <td>${f.type} (${f.id})</td>
              <td>${f.mechanism}</td>
              <td>${formatTime(f.appliedAt)}</td>
              <td>${formatTime(f.revertedAt)}${f.revertVerified ? ' ✓ verified' : ''}</td>
              <td>${[f.error, ...f.notes].filter(Boolean).join('; ')}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`
}
