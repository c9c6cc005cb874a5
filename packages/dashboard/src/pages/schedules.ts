// Schedules: when each fires next (in its own zone and the viewer's), what became of past fires, and
// pause / resume.
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { api } from '../api.js'
import { ErrorBox, Loading, useLoad } from '../components/load-state.js'
import { formatIn, relative, viewerZone } from '../components/time-zone.js'
import { useNow } from '../components/use-now.js'
import { href } from '../router.js'

interface ScheduleView {
  id: string
  scenario: string
  cron: string
  timezone: string
  concurrency: string
  startingDeadlineS: number
  paused: boolean
  createdAt: string
  lastScheduledAt: string | null
  nextFireTimes: string[]
}
interface ScheduleFire {
  scheduleId: string
  scheduledAt: string
  handledAt: string
  outcome: 'started' | 'skipped' | 'replaced' | 'missed' | 'refused'
  runId: string | null
  detail: string | null
}

/** Each outcome as a word and a symbol, never a colour alone ("started" is the API's word for ran). */
const outcomes: Record<ScheduleFire['outcome'], string> = {
  started: '✔ ran',
  replaced: '↻ ran (replaced the previous run)',
  skipped: '⏭ skipped',
  missed: '⚠ missed',
  refused: '✖ refused',
}

export function SchedulesPage() {
  const list = useLoad(() => api<ScheduleView[]>('GET', '/api/schedules'))
  const now = useNow()
  const zone = viewerZone()
  return html`<h1>Schedules</h1>
    <p class="muted">Times are shown in each schedule's zone and in yours (${zone}).</p>
    ${
      list.loading && !list.data
        ? html`<${Loading} what="schedules" />`
        : list.error
          ? html`<${ErrorBox} error=${list.error} title="Could not list schedules" />`
          : list.data!.length === 0
            ? html`<p class="empty">
                No schedules. Create one with <code>POST /api/schedules</code> (see <a href="/docs">the API</a>).
              </p>`
            : list.data!.map((s) => html`<${ScheduleCard} key=${s.id} initial=${s} zone=${zone} now=${now} />`)
    }`
}

function ScheduleCard({ initial, zone, now }: { initial: ScheduleView; zone: string; now: number }) {
  const [schedule, setSchedule] = useState(initial)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(undefined)
  const toggle = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try {
      setSchedule(await api<ScheduleView>('PATCH', `/api/schedules/${schedule.id}`, { paused: !schedule.paused }))
    } catch (e) {
      setError(e)
    } finally {
      setBusy(false)
    }
  }
  const titleId = `schedule-${schedule.id}`
  return html`<section class="card schedule" aria-labelledby=${titleId} data-schedule=${schedule.id}>
    <h2 id=${titleId}>
      <a href=${href('scenarios', schedule.scenario)}>${schedule.scenario}</a>
      <code class="cron">${schedule.cron}</code>
      <span class=${schedule.paused ? 'state paused' : 'state active'} data-paused=${String(schedule.paused)}>
        ${schedule.paused ? '⏸ Paused' : '▶ Active'}
      </span>
    </h2>
    <p class="muted">
      Zone ${schedule.timezone} · concurrency ${schedule.concurrency} · starting deadline ${schedule.startingDeadlineS}
      s ${schedule.lastScheduledAt ? ` · last fire ${formatIn(schedule.lastScheduledAt, zone)}` : ''}
    </p>
    <button type="button" onClick=${toggle} disabled=${busy} aria-describedby=${titleId}>
      ${schedule.paused ? 'Resume' : 'Pause'}
    </button>
    ${error ? html`<${ErrorBox} error=${error} title="Could not change the schedule" />` : null}
    ${
      schedule.paused
        ? html`<p>No fires while paused.</p>`
        : schedule.nextFireTimes.length === 0
          ? html`<p>No upcoming fires.</p>`
          : html`<div class="table-wrap">
              <table>
                <caption>
                  Next fires
                </caption>
                <thead>
                  <tr>
                    <th scope="col">${schedule.timezone} (schedule)</th>
                    <th scope="col">${zone} (yours)</th>
                    <th scope="col">When</th>
                  </tr>
                </thead>
                <tbody>
                  ${schedule.nextFireTimes.map(
                    (t) =>
                      html`<tr>
                        <td><time datetime=${t}>${formatIn(t, schedule.timezone)}</time></td>
                        <td><time datetime=${t}>${formatIn(t, zone)}</time></td>
                        <td>${relative(t, now)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
    <${FireHistory} id=${schedule.id} zone=${zone} />
  </section>`
}

/** Loaded when opened: the last 200 fires of one schedule. */
function FireHistory({ id, zone }: { id: string; zone: string }) {
  const [open, setOpen] = useState(false)
  return html`<details onToggle=${(e: Event) => setOpen((e.target as HTMLDetailsElement).open)}>
    <summary>History of fires</summary>
    ${open ? html`<${FireTable} id=${id} zone=${zone} />` : null}
  </details>`
}

function FireTable({ id, zone }: { id: string; zone: string }) {
  const fires = useLoad(() => api<ScheduleFire[]>('GET', `/api/schedules/${id}/history`), [id])
  if (fires.loading && !fires.data) return html`<${Loading} what="fires" />`
  if (fires.error) return html`<${ErrorBox} error=${fires.error} title="Could not read the history" />`
  if (fires.data!.length === 0) return html`<p class="empty">It has not fired yet.</p>`
  return html`<div class="table-wrap">
    <table class="fires">
      <caption class="visually-hidden">
        Past fires
      </caption>
      <thead>
        <tr>
          <th scope="col">Scheduled for (${zone})</th>
          <th scope="col">Outcome</th>
          <th scope="col">Run</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        ${fires.data!.map(
          (f) =>
            html`<tr>
              <td><time datetime=${f.scheduledAt}>${formatIn(f.scheduledAt, zone)}</time></td>
              <td class=${`outcome ${f.outcome}`}>${outcomes[f.outcome] ?? f.outcome}</td>
              <td>${f.runId ? html`<a href=${href('runs', f.runId)}>${f.runId}</a>` : '—'}</td>
              <td>${f.detail ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`
}
