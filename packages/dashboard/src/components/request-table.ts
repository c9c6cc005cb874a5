// The requests of a step's mix as the run judged them: sent, error rate, p50, p99 (the reports' columns).
import type { ObservedStep } from '@gauntlet/contracts'
import { html } from 'htm/preact'
import { formatMs, formatPercent } from './format.js'

/** One table for a step of a request mix; nothing for a step without one (a scenario of one request). */
export function RequestTable({ step }: { step: ObservedStep }) {
  const requests = Object.entries(step.requests ?? {})
  if (requests.length === 0) return null
  return html`<div class="table-wrap">
    <table class="request-table">
      <caption>
        Step ${step.index + 1} (${step.plannedRps} rps): requests
      </caption>
      <thead>
        <tr>
          <th scope="col">Request</th>
          <th scope="col">Sent</th>
          <th scope="col">Error rate</th>
          <th scope="col">p50</th>
          <th scope="col">p99</th>
        </tr>
      </thead>
      <tbody>
        ${requests.map(
          ([name, r]) =>
            html`<tr>
              <th scope="row">${name}</th>
              <td>${r.sent}</td>
              <td>${formatPercent(r.errorRate)}</td>
              <td>${formatMs(r.p50Ms)}</td>
              <td>${formatMs(r.p99Ms)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`
}
