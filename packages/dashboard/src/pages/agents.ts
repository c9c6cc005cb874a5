import { html } from 'htm/preact'
export function AgentsPage() {
  return html`<h1>Agents</h1>`
}
