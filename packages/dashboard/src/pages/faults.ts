// Faults: the ad hoc faults active now, where and until when, each revertible (after a confirm).
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { api, ApiError } from '../api.js'
import { ErrorBox, Loading, useLoad } from '../components/load-state.js'
import { formatIn, relative, viewerZone } from '../components/time-zone.js'
import { useNow } from '../components/use-now.js'

interface FaultReport {
  id: string
  type: string
  mechanism: string
  targets: string[]
  appliedAt: string
  untilAt: string
  revertedAt: string | null
  revertVerified: boolean
  notes: string[]
  injector?: 'holder' | 'host'
  agent?: string
}

export function FaultsPage() {
  const list = useLoad(() => api<FaultReport[]>('GET', '/api/faults'))
  const now = useNow()
  const zone = viewerZone()
  const [reverting, setReverting] = useState<string | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [reverted, setReverted] = useState<FaultReport | undefined>(undefined)

  const revert = async (fault: FaultReport): Promise<void> => {
    if (!confirm(`Revert fault ${fault.id} (${fault.type} on ${fault.targets.join(', ')}) now?`)) return
    setReverting(fault.id)
    setError(undefined)
    try {
      setReverted(await api<FaultReport>('DELETE', `/api/faults/${encodeURIComponent(fault.id)}`))
      list.reload()
    } catch (e) {
      setError(e)
    } finally {
      setReverting(undefined)
    }
  }

  // 404: this controller has no ad hoc faults (no --docker and no fault-capable agent routing).
  const disabled = list.error instanceof ApiError && list.error.status === 404
  const active = (list.data ?? []).filter((f) => f.revertedAt === null)
  return html`<h1>Faults</h1>
    <p class="muted">Ad hoc faults (POST /api/faults). Faults a run schedules are on its run page.</p>
    <p><button type="button" onClick=${list.reload}>Refresh</button></p>
    ${
      reverted
        ? html`<p role="status">
            ${reverted.revertVerified ? '✔' : '⚠'} Fault ${reverted.id} reverted
            ${reverted.revertVerified ? '(verified)' : '(not verified: check the target)'}.
          </p>`
        : null
    }
    ${error ? html`<${ErrorBox} error=${error} title="Could not revert the fault" />` : null}
    ${
      list.loading && !list.data
        ? html`<${Loading} what="faults" />`
        : disabled
          ? html`<p class="empty" data-state="disabled">
              Ad hoc faults are not enabled on this controller: start it with <code>--docker</code>, or register an
              agent started with <code>--docker</code>.
            </p>`
          : list.error
            ? html`<${ErrorBox} error=${list.error} title="Could not list faults" />`
            : active.length === 0
              ? html`<p class="empty">No active faults.</p>`
              : html`<div class="table-wrap">
                  <table class="faults">
                    <caption class="visually-hidden">
                      Active faults
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Fault</th>
                        <th scope="col">Where</th>
                        <th scope="col">Since</th>
                        <th scope="col">Until (${zone})</th>
                        <th scope="col">Time left</th>
                        <th scope="col"><span class="visually-hidden">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody>
                      ${active.map(
                        (f) =>
                          html`<tr>
                            <td>
                              <strong>${f.type}</strong> <code>${f.id}</code><br />
                              <span class="muted">${f.mechanism}${f.injector ? ` · ${f.injector}` : ''}</span>
                              ${f.notes.map((n) => html`<br /><span class="muted">${n}</span>`)}
                            </td>
                            <td>
                              ${f.targets.join(', ')}${f.agent ? html`<br /><span class="muted">via ${f.agent}</span>` : ''}
                            </td>
                            <td><time datetime=${f.appliedAt}>${formatIn(f.appliedAt, zone)}</time></td>
                            <td><time datetime=${f.untilAt}>${formatIn(f.untilAt, zone)}</time></td>
                            <td>
                              ${new Date(f.untilAt).getTime() > now ? relative(f.untilAt, now).replace(/^in /, '') : 'ending'}
                            </td>
                            <td>
                              <button
                                type="button"
                                class="danger"
                                disabled=${reverting === f.id}
                                aria-label=${`Revert fault ${f.id}`}
                                onClick=${() => revert(f)}
                              >
                                ${reverting === f.id ? 'Reverting…' : 'Revert'}
                              </button>
                            </td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>`
    }`
}
