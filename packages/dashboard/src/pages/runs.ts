import { html } from 'htm/preact'
export function RunsPage({ query }: { query: URLSearchParams }) {
  return html`<h1>Runs</h1>
    <p>${query.toString()}</p>`
}
