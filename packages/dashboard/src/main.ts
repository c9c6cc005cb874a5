// The dashboard's shell: navigation, the token prompt, and one page per route.
import { html, render } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { whenUnauthorized } from './api.js'
import { readToken } from './token.js'
import { TokenPrompt } from './components/token-prompt.js'
import { AgentsPage } from './pages/agents.js'
import { FaultsPage } from './pages/faults.js'
import { RunPage } from './pages/run.js'
import { RunsPage } from './pages/runs.js'
import { ScenarioPage, ScenariosPage } from './pages/scenarios.js'
import { SchedulesPage } from './pages/schedules.js'
import { useRoute, type Route } from './router.js'

const sections = [
  ['runs', 'Runs'],
  ['scenarios', 'Scenarios'],
  ['schedules', 'Schedules'],
  ['agents', 'Agents'],
  ['faults', 'Faults'],
] as const

function App() {
  const route = useRoute()
  // A controller whose every read needs the token says so in the page: ask before the first call, so
  // no call is refused (a refused one would also be logged in the browser's console).
  const [needsToken, setNeedsToken] = useState(() => authMode() === 'token' && readToken() === undefined)
  // Bumped when a token is given, so the page loads again with it.
  const [generation, setGeneration] = useState(0)
  useEffect(() => whenUnauthorized(() => setNeedsToken(true)), [])
  const current = route.page.replace(/s?$/, 's')
  return html`
    <a class="skip" href="#main" onClick=${skipToMain}>Skip to content</a>
    <header class="top">
      <span class="brand">Gauntlet</span>
      <nav aria-label="Sections">
        <ul>
          ${sections.map(
            ([section, label]) =>
              html`<li>
                <a href=${`#/${section}`} aria-current=${current === section ? 'page' : undefined}>${label}</a>
              </li>`,
          )}
        </ul>
      </nav>
      <a class="docs" href="/docs">API</a>
    </header>
    ${
      needsToken
        ? html`<${TokenPrompt}
            onSaved=${() => {
              setNeedsToken(false)
              setGeneration((g) => g + 1)
            }}
          />`
        : null
    }
    <main id="main" tabindex="-1" key=${generation}>${needsToken && generation === 0 ? null : page(route)}</main>
  `
}

/** What the controller asks of callers (the page's gauntlet-auth meta): token, public-read or none. */
function authMode(): string {
  return document.querySelector('meta[name="gauntlet-auth"]')?.getAttribute('content') ?? 'none'
}

function skipToMain(event: Event): void {
  event.preventDefault()
  document.getElementById('main')?.focus()
}

function page(route: Route) {
  switch (route.page) {
    case 'run':
      return html`<${RunPage} id=${route.id!} />`
    case 'scenarios':
      return html`<${ScenariosPage} />`
    case 'scenario':
      return html`<${ScenarioPage} name=${route.id!} />`
    case 'schedules':
    case 'schedule':
      return html`<${SchedulesPage} />`
    case 'agents':
    case 'agent':
      return html`<${AgentsPage} />`
    case 'faults':
    case 'fault':
      return html`<${FaultsPage} />`
    default:
      return html`<${RunsPage} query=${route.query} />`
  }
}

render(html`<${App} />`, document.getElementById('app')!)
