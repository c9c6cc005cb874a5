import { html } from 'htm/preact'
export function ScenariosPage() {
  return html`<h1>Scenarios</h1>`
}
export function ScenarioPage({ name }: { name: string }) {
  return html`<h1>Scenario ${name}</h1>`
}
