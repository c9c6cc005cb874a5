// Every decision that did something or says why, newest first, with the numbers behind it.
import type { Decision } from '@gauntlet/contracts'
import { html } from 'htm/preact'
import { formatNumber } from './format.js'

/** A long run can take thousands of decisions: the newest ones are shown, the rest are in the API. */
const shown = 200

export function DecisionLog({ decisions, quiet }: { decisions: readonly Decision[]; quiet: number }) {
  const rows = decisions.slice(-shown).reverse()
  return html`<section aria-labelledby="decisions-title">
    <h2 id="decisions-title">Decision log</h2>
    <p class="muted">
      ${decisions.length} decision${decisions.length === 1 ? '' : 's'} with
      evidence${
        quiet ? `; ${quiet} window verdict${quiet === 1 ? '' : 's'} that changed nothing not listed` : ''
      }${decisions.length > shown ? `; the newest ${shown} shown` : ''}.
    </p>
    ${
      rows.length === 0
        ? html`<p class="empty">No decision yet.</p>`
        : html`<div class="table-wrap">
            <table class="decision-log">
              <thead>
                <tr>
                  <th scope="col">Seconds</th>
                  <th scope="col">Step</th>
                  <th scope="col">Guard</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Action</th>
                  <th scope="col">Why</th>
                  <th scope="col">Evidence</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (d) =>
                    html`<tr class=${`decision ${d.action}`}>
                      <td>${d.evidence.windowStart}–${d.evidence.windowEnd}s</td>
                      <td>${d.step + 1}</td>
                      <td>${d.guard}${d.condition ? html`<br /><span class="muted">${d.condition}</span>` : null}</td>
                      <td>${d.verdict}</td>
                      <td><${ActionWord} action=${d.action} dryRun=${d.dryRun} /></td>
                      <td>${d.reason ?? ''}${d.source ? html` <span class="muted">(${d.source})</span>` : null}</td>
                      <td><${Evidence} decision=${d} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`
}

const actionSymbols: Record<string, string> = { advance: '→', hold: '‖', rollback: '↩', stop: '■', continue: '·' }

export function ActionWord({ action, dryRun }: { action: string; dryRun?: boolean | undefined }) {
  return html`<span class=${`action ${action}`}
    ><span aria-hidden="true">${actionSymbols[action] ?? ''} </span
    >${action.toUpperCase()}${dryRun ? ' (dry run)' : ''}</span
  >`
}

export function Evidence({ decision }: { decision: Decision }) {
  const e = decision.evidence
  const bounds = e.lower === null && e.upper === null ? '' : ` [${formatNumber(e.lower)}, ${formatNumber(e.upper)}]`
  const baseline = e.baseline
    ? `; baseline ${formatNumber(e.baseline.estimate)} (n=${e.baseline.n}, ${e.baseline.source})`
    : ''
  return html`<span class="evidence"
    >n=${e.n}, estimate ${formatNumber(e.estimate)}${bounds}, limit ${formatNumber(e.limit)} →
    ${e.confidence}${baseline}</span
  >`
}
