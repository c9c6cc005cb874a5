import { html } from 'htm/preact'
export function SchedulesPage() {
  return html`<h1>Schedules</h1>`
}
