// Abort with a confirm step: a real <dialog> (focus moves into it, Escape cancels), then POST abort.
import { html } from 'htm/preact'
import { useRef, useState } from 'preact/hooks'
import { api } from '../api.js'

export function AbortButton({ runId, onAborting }: { runId: string; onAborting: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [sending, setSending] = useState(false)
  const confirm = async (event: Event): Promise<void> => {
    event.preventDefault()
    setSending(true)
    setError(undefined)
    try {
      await api('POST', `/api/runs/${encodeURIComponent(runId)}/abort`)
      dialog.current?.close()
      onAborting()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setSending(false)
    }
  }
  return html`
    <button type="button" class="danger abort" onClick=${() => dialog.current?.showModal()}>Abort run…</button>
    <dialog ref=${dialog} class="confirm" aria-labelledby="abort-title">
      <form method="dialog" onSubmit=${confirm}>
        <h2 id="abort-title">Abort this run?</h2>
        <p>Faults are reverted first, then the load stops. The run is judged on what it saw so far.</p>
        ${error ? html`<p class="error-box" role="alert">${error}</p>` : null}
        <div class="dialog-actions">
          <button type="button" autofocus onClick=${() => dialog.current?.close()}>Keep running</button>
          <button type="submit" class="danger" disabled=${sending}>Abort the run</button>
        </div>
      </form>
    </dialog>
  `
}
