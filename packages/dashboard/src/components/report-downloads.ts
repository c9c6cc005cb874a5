// The run's reports. A plain link cannot carry the token (it never goes into a URL), so each is
// fetched with it and handed to the browser as a download from a blob: URL.
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { apiText } from '../api.js'

const formats = [
  { format: 'html', label: 'HTML report', accept: 'text/html', type: 'text/html', ext: 'html' },
  { format: 'md', label: 'Markdown', accept: 'text/markdown', type: 'text/markdown', ext: 'md' },
  { format: 'junit', label: 'JUnit XML', accept: 'application/xml', type: 'application/xml', ext: 'xml' },
] as const

export function ReportDownloads({ runId }: { runId: string }) {
  const [busy, setBusy] = useState<string | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const download = async (f: (typeof formats)[number]): Promise<void> => {
    setBusy(f.format)
    setError(undefined)
    try {
      const text = await apiText(`/api/runs/${encodeURIComponent(runId)}/report?format=${f.format}`, f.accept)
      const url = URL.createObjectURL(new Blob([text], { type: f.type }))
      const a = document.createElement('a')
      a.href = url
      a.download = `gauntlet-run-${runId}.${f.ext}`
      document.body.append(a)
      a.click()
      a.remove()
      // The download has its copy once the click is handled.
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (e) {
      setError(`${f.label}: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      setBusy(undefined)
    }
  }
  return html`<section aria-labelledby="reports-title">
    <h2 id="reports-title">Reports</h2>
    <div class="report-downloads">
      ${formats.map(
        (f) =>
          html`<button
            type="button"
            data-format=${f.format}
            disabled=${busy !== undefined}
            onClick=${() => void download(f)}
          >
            ${busy === f.format ? 'Preparing…' : `Download ${f.label}`}
          </button>`,
      )}
    </div>
    ${error ? html`<p class="error-box" role="alert">${error}</p>` : null}
  </section>`
}
