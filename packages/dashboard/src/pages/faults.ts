import { html } from 'htm/preact'
export function FaultsPage() {
  return html`<h1>Faults</h1>`
}
