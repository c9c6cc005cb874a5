// Asked once per tab when the controller needs a token: kept in sessionStorage, never in a URL.
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import { saveToken } from '../token.js'

export function TokenPrompt({ onSaved }: { onSaved: () => void }) {
  const [token, setToken] = useState('')
  const submit = (event: Event): void => {
    event.preventDefault()
    if (!token.trim()) return
    saveToken(token.trim())
    onSaved()
  }
  return html`
    <form class="token-prompt" onSubmit=${submit} aria-labelledby="token-title">
      <h2 id="token-title">This controller needs its API token</h2>
      <p>It stays in this browser tab (sessionStorage) and is sent as <code>Authorization: Bearer</code>.</p>
      <label for="token">GAUNTLET_TOKEN</label>
      <input
        id="token"
        type="password"
        autocomplete="off"
        value=${token}
        onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)}
        autofocus
      />
      <button type="submit">Use token</button>
    </form>
  `
}
