// Scenarios: the stored list, and one scenario's YAML to read, edit (checked by the controller as it is
// typed), save, and start a run from.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError, type Problem } from '../api.js'
import { ErrorBox, Loading, useLoad } from '../components/load-state.js'
import { YamlEditor } from '../components/yaml-editor.js'
import { href } from '../router.js'

interface ScenarioItem {
  name: string
  updatedAt: string
}
interface StoredScenario extends ScenarioItem {
  yaml: string
}
interface ScenarioCheck {
  valid: true
  name: string
  steps: number
  durationS: number
  maxRps: number
  faults: number
  thresholds: number
}

/** The pause after the last keystroke before the controller is asked. */
const debounceMs = 300
const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/
const redacted = '«redacted»'

export function ScenariosPage() {
  const list = useLoad(() => api<ScenarioItem[]>('GET', '/api/scenarios'))
  const [newName, setNewName] = useState('')
  const createNew = (event: Event): void => {
    event.preventDefault()
    if (namePattern.test(newName)) location.hash = href('scenarios', newName)
  }
  return html`<h1>Scenarios</h1>
    <form class="inline-form" onSubmit=${createNew}>
      <label for="new-scenario">New scenario name</label>
      <input
        id="new-scenario"
        value=${newName}
        pattern=${namePattern.source}
        aria-describedby="new-scenario-hint"
        onInput=${(e: Event) => setNewName((e.target as HTMLInputElement).value)}
      />
      <button type="submit">New scenario</button>
      <span id="new-scenario-hint" class="muted">letters, digits, “.”, “_” and “-”</span>
    </form>
    ${
      list.loading && !list.data
        ? html`<${Loading} what="scenarios" />`
        : list.error
          ? html`<${ErrorBox} error=${list.error} title="Could not list scenarios" />`
          : list.data!.length === 0
            ? html`<p class="empty">
                No stored scenarios yet. Create one above, or start the controller with <code>--scenarios DIR</code>.
              </p>`
            : html`<div class="table-wrap">
                <table class="scenario-list">
                  <caption class="visually-hidden">
                    Stored scenarios
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${list.data!.map(
                      (s) =>
                        html`<tr>
                          <td><a href=${href('scenarios', s.name)}>${s.name}</a></td>
                          <td><time datetime=${s.updatedAt}>${new Date(s.updatedAt).toLocaleString()}</time></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
    }`
}

const template = (name: string): string =>
  `name: ${name}\n` +
  `target:\n  url: "http://127.0.0.1:8080/"\n` +
  `load:\n  steps:\n    - { rps: 10, duration: 30s }\n` +
  `thresholds:\n  - p99 < 500ms\n  - error_rate < 1%\n`

type Check =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'valid'; summary: ScenarioCheck }
  | { state: 'invalid'; problems: Problem[]; detail: string }
  | { state: 'failed'; error: unknown }

export function ScenarioPage({ name }: { name: string }) {
  const stored = useLoad(async () => {
    try {
      return await api<StoredScenario>('GET', `/api/scenarios/${encodeURIComponent(name)}`)
    } catch (error) {
      // Not stored yet: the page is where a new scenario of this name is written.
      if (error instanceof ApiError && error.status === 404) return undefined
      throw error
    }
  }, [name])
  const [text, setText] = useState<string | undefined>(undefined)
  const [check, setCheck] = useState<Check>({ state: 'idle' })
  const [saving, setSaving] = useState<{ state: 'saved'; at: string } | { state: 'error'; error: unknown }>()
  const [target, setTarget] = useState('')
  const [runError, setRunError] = useState<unknown>(undefined)
  const [starting, setStarting] = useState(false)
  const sequence = useRef(0)
  const inFlight = useRef<Promise<void> | undefined>(undefined)
  const isNew = !stored.loading && !stored.error && stored.data === undefined

  // The editor starts from what is stored (or a template for a new name).
  useEffect(() => {
    if (stored.loading || stored.error) return
    setText(stored.data?.yaml ?? template(name))
  }, [stored.data, stored.loading, stored.error, name])

  // The controller checks the text once typing pauses; only the newest answer is shown.
  useEffect(() => {
    if (text === undefined) return
    const mine = ++sequence.current
    if (text.trim() === '') {
      setCheck({
        state: 'invalid',
        problems: [{ path: '', message: 'the scenario is empty', line: 1, column: 1 }],
        detail: '',
      })
      return
    }
    setCheck({ state: 'checking' })
    // One check in flight at a time (the controller's YAML threads are shared with everyone): a newer
    // text waits for the answer in flight, and a text already superseded by then is never sent.
    const timer = setTimeout(() => {
      const previous = inFlight.current
      inFlight.current = (async () => {
        await previous
        if (mine !== sequence.current) return
        await api<ScenarioCheck>('POST', '/api/scenarios/validate', { yaml: text, name }).then(
          (summary) => mine === sequence.current && setCheck({ state: 'valid', summary }),
          (error: unknown) => {
            if (mine !== sequence.current) return
            if (error instanceof ApiError && error.status === 422 && error.problem?.problems)
              setCheck({ state: 'invalid', problems: error.problem.problems, detail: error.problem.detail })
            else setCheck({ state: 'failed', error })
          },
        )
      })()
    }, debounceMs)
    return () => clearTimeout(timer)
  }, [text, name])

  const dirty = text !== undefined && text !== stored.data?.yaml

  const save = async (): Promise<void> => {
    if (text === undefined) return
    try {
      const saved = await api<StoredScenario>('PUT', `/api/scenarios/${encodeURIComponent(name)}`, { yaml: text })
      setSaving({ state: 'saved', at: saved.updatedAt })
      stored.reload()
    } catch (error) {
      setSaving({ state: 'error', error })
    }
  }

  const startRun = async (event: Event): Promise<void> => {
    event.preventDefault()
    setRunError(undefined)
    setStarting(true)
    try {
      const body = { scenario: name, ...(target.trim() ? { target: target.trim() } : {}) }
      const run = await api<{ id: string }>('POST', '/api/runs', body)
      location.hash = href('runs', run.id)
    } catch (error) {
      setRunError(error)
    } finally {
      setStarting(false)
    }
  }

  if (stored.loading && text === undefined)
    return html`<h1>Scenario ${name}</h1>
      <${Loading} what="the scenario" />`
  if (stored.error)
    return html`<h1>Scenario ${name}</h1>
      <${ErrorBox} error=${stored.error} title="Could not read the scenario" />
      <p><a href=${href('scenarios')}>All scenarios</a></p>`

  const problems = check.state === 'invalid' ? check.problems : []
  return html`<h1>Scenario ${name}${isNew ? html` <span class="badge">new, not saved</span>` : null}</h1>
    <p><a href=${href('scenarios')}>← All scenarios</a></p>
    ${
      text?.includes(redacted)
        ? html`<p class="note">
            ⚠ Credentials are shown as ${redacted}: the stored values are never sent to the browser. Write them again
            (or reference a secret) before saving.
          </p>`
        : null
    }
    <${YamlEditor}
      id="scenario-yaml"
      label=${`YAML of ${name}`}
      value=${text ?? ''}
      onInput=${(t: string) => {
        setText(t)
        setSaving(undefined)
      }}
      problems=${problems}
    />
    <p class="check-state" role="status" data-state=${check.state}>
      ${
        check.state === 'checking'
          ? '… checking with the controller'
          : check.state === 'valid'
            ? html`✔ Valid: ${check.summary.steps} step${check.summary.steps === 1 ? '' : 's'},
              ${check.summary.durationS} s of load up to ${check.summary.maxRps} rps, ${check.summary.thresholds}
              threshold${check.summary.thresholds === 1 ? '' : 's'}, ${check.summary.faults}
              fault${check.summary.faults === 1 ? '' : 's'}`
            : check.state === 'invalid'
              ? html`✖ Not valid${check.detail ? `: ${check.detail}` : ''}`
              : ''
      }
    </p>
    ${check.state === 'failed' ? html`<${ErrorBox} error=${check.error} title="Could not check the scenario" />` : null}
    <div class="actions">
      <button type="button" onClick=${save} disabled=${!dirty && !isNew}>Save</button>
      <span class="muted" role="status">
        ${
          saving?.state === 'saved'
            ? `✔ Saved at ${new Date(saving.at).toLocaleTimeString()}`
            : dirty
              ? 'Unsaved changes'
              : ''
        }
      </span>
    </div>
    ${saving?.state === 'error' ? html`<${ErrorBox} error=${saving.error} title="Not saved" />` : null}
    <h2>Start a run</h2>
    ${
      isNew
        ? html`<p class="muted">Save the scenario first: runs start from the stored version.</p>`
        : html`<form class="run-form" onSubmit=${startRun}>
            ${dirty ? html`<p class="note">⚠ Unsaved changes: the run uses the stored version.</p>` : null}
            <label for="run-target">Target URL override (optional)</label>
            <input
              id="run-target"
              type="url"
              placeholder="http://127.0.0.1:8080/"
              value=${target}
              onInput=${(e: Event) => setTarget((e.target as HTMLInputElement).value)}
            />
            <button type="submit" disabled=${starting}>${starting ? 'Starting…' : 'Start run'}</button>
          </form>`
    }
    ${runError ? html`<${ErrorBox} error=${runError} title="The run did not start" />` : null}`
}
