import { html } from 'htm/preact'
export function RunPage({ id }: { id: string }) {
  return html`<h1>Run ${id}</h1>`
}
