// Agents: who generates load (and who can inject faults), whether they are alive, and how far their
// clocks are from the controller's.
import { html } from 'htm/preact'
import { api } from '../api.js'
import { ErrorBox, Loading, useLoad } from '../components/load-state.js'
import { relative } from '../components/time-zone.js'
import { useNow } from '../components/use-now.js'
import { href } from '../router.js'

interface AgentView {
  name: string
  url: string
  capacityRps: number
  version: string
  state: 'ready' | 'busy' | 'lost'
  registeredAt: string
  lastHeartbeatAt: string
  runs: string[]
  reportedRuns: string[]
  clock?: { offsetMs: number; uncertaintyMs: number }
  faults?: { injector: string; containers: number; services: string[]; error?: string }
}

const states: Record<AgentView['state'], string> = { ready: '✔ ready', busy: '● busy', lost: '✖ lost' }

export function AgentsPage() {
  const list = useLoad(() => api<AgentView[]>('GET', '/api/agents'))
  const now = useNow()
  return html`<h1>Agents</h1>
    <p><button type="button" onClick=${list.reload}>Refresh</button></p>
    ${
      list.loading && !list.data
        ? html`<${Loading} what="agents" />`
        : list.error
          ? html`<${ErrorBox} error=${list.error} title="Could not list agents" />`
          : list.data!.length === 0
            ? html`<p class="empty">
                No agents have registered with this controller. Start one with
                <code>gauntlet agent --controller URL</code>.
              </p>`
            : html`<div class="table-wrap">
                <table class="agents">
                  <caption class="visually-hidden">
                    Agents
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Agent</th>
                      <th scope="col">State</th>
                      <th scope="col">Capacity</th>
                      <th scope="col">Clock offset</th>
                      <th scope="col">Runs now</th>
                      <th scope="col">Faults</th>
                      <th scope="col">Last heartbeat</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${list.data!.map(
                      (a) =>
                        html`<tr>
                          <td>${a.name}<br /><span class="muted">${a.url} · v${a.version}</span></td>
                          <td class=${`state ${a.state}`}>${states[a.state] ?? a.state}</td>
                          <td>${a.capacityRps} rps</td>
                          <td>
                            ${
                              a.clock
                                ? `${a.clock.offsetMs >= 0 ? '+' : ''}${a.clock.offsetMs.toFixed(1)} ms ± ${a.clock.uncertaintyMs.toFixed(1)} ms`
                                : 'not measured yet'
                            }
                          </td>
                          <td>
                            ${
                              a.runs.length === 0
                                ? 'none'
                                : a.runs.map((id) => html`<a href=${href('runs', id)}>${id}</a> `)
                            }
                          </td>
                          <td>
                            ${
                              a.faults
                                ? html`✔ can inject (${a.faults.injector}, ${a.faults.containers}
                                  containers)${
                                    a.faults.error ? html`<br /><span class="note">⚠ ${a.faults.error}</span>` : null
                                  }`
                                : '— load only'
                            }
                          </td>
                          <td><time datetime=${a.lastHeartbeatAt}>${relative(a.lastHeartbeatAt, now)}</time></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
    }`
}
