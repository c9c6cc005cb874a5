// A run's outcome as a word and a symbol (colour is only a third signal, for those who see it).
import { html } from 'htm/preact'

const symbols: Record<string, string> = {
  running: '▶',
  passed: '✓',
  pass: '✓',
  failed: '✗',
  fail: '✗',
  aborted: '■',
  interrupted: '⚠',
  error: '!',
}

/** The word shown for a status or verdict ("pass" reads as "passed", like a status). */
const words: Record<string, string> = { pass: 'passed', fail: 'failed' }

/** `status` is the run's status; `verdict` (pass | fail | error), when known, is said beside an aborted or interrupted one. */
export function Verdict({ status, verdict }: { status: string; verdict?: string | null | undefined }) {
  const word = words[status] ?? status
  const extra = verdict && (words[verdict] ?? verdict) !== word ? ` (verdict: ${verdict})` : ''
  return html`<span class=${`verdict ${word}`}
    ><span aria-hidden="true">${symbols[status] ?? '?'} </span>${word}${extra}</span
  >`
}
