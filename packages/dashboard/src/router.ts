// Hash routes (#/runs/abc): the controller serves one page, and a route never reaches the server, so
// a link to a run can be shared and reloaded without the server knowing any of the dashboard's paths.
import { useEffect, useState } from 'preact/hooks'

export interface Route {
  /** The page: runs, run, scenarios, scenario, schedules, agents, faults. */
  page: string
  /** The path's second part (a run id, a scenario name), decoded. */
  id: string | undefined
  /** The hash's query (#/runs?status=failed). */
  query: URLSearchParams
}

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?', 2)
  const [section = 'runs', id] = path.split('/').filter(Boolean)
  const page = id !== undefined ? section.replace(/s$/, '') : section
  return { page, id: id === undefined ? undefined : decodeURIComponent(id), query: new URLSearchParams(search) }
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash))
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}

/** A link target for a page: href(`runs`, id) -> "#/runs/<id>". */
export function href(section: string, id?: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) if (v) params.set(k, v)
  const search = params.toString()
  return `#/${section}${id === undefined ? '' : `/${encodeURIComponent(id)}`}${search ? `?${search}` : ''}`
}
