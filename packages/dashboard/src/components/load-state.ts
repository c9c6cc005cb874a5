// Loading, error and empty states every page shares: a page says what it waits for and why it failed.
import { html } from 'htm/preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from '../api.js'

export interface Loaded<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Runs `load` on mount and on reload(); a late answer of an older load never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  })
  const [generation, setGeneration] = useState(0)
  useEffect(() => {
    let current = true
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => current && setState({ data: undefined, error, loading: false }),
    )
    return () => {
      current = false
    }
  }, [generation, ...deps])
  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  return { ...state, reload }
}

export function Loading({ what }: { what: string }) {
  return html`<p class="muted" role="status" aria-live="polite">Loading ${what}…</p>`
}

/** An error as the controller explained it: title, detail, and each problem at its place. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const problem = error instanceof ApiError ? error.problem : undefined
  const heading = title ?? 'Something went wrong'
  return html`<div class="error-box" role="alert">
    <strong>✖ ${heading}</strong>
    <p>
      ${
        problem
          ? html`${problem.title} (${problem.status}${problem.code ? `, ${problem.code}` : ''}): ${problem.detail}`
          : error instanceof Error
            ? error.message
            : String(error)
      }
    </p>
    ${
      problem?.problems?.length
        ? html`<ul>
            ${problem.problems.map(
              (p) =>
                html`<li>${p.line !== undefined ? `line ${p.line}: ` : p.path ? `${p.path}: ` : ''}${p.message}</li>`,
            )}
          </ul>`
        : null
    }
  </div>`
}
