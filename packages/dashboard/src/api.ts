// The dashboard's only way to the controller: the documented REST API, same origin, no CORS. Mutations
// are application/json (the controller refuses anything else); errors are problem+json, surfaced whole.
import { authHeaders } from './token.js'

/** RFC 9457 problem details as the controller sends them (packages/http/src/problem-details.ts). */
export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail: string
  code: string
  /** Validation problems: each at its path (and line:column in the YAML it came from). */
  problems?: Problem[]
}

export type Problem = import('@gauntlet/contracts').Problem

/** A refused or failed call, with the controller's problem document when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails | undefined,
  ) {
    super(problem ? `${problem.title}: ${problem.detail ?? ''}`.trim() : `HTTP ${status}`)
  }
}

/** Called when the controller answers 401: the app asks for the token. */
let onUnauthorized: () => void = () => {}
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler
}
/** For calls made outside api() (the event stream): the controller refused the token. */
export function notifyUnauthorized(): void {
  onUnauthorized()
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** A call whose answer is JSON. Mutations always send application/json, an empty body included. */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const response = await call(method, path, body, 'application/json')
  return (response.status === 204 ? undefined : await response.json()) as T
}

/** A call whose answer is text (a report's Markdown, say). */
export async function apiText(path: string, accept: string): Promise<string> {
  return (await call('GET', path, undefined, accept)).text()
}

/** The next page's cursor, from a paged list's Link header (rel="next"), if any. */
export async function apiPage<T>(path: string): Promise<{ items: T; next: string | undefined }> {
  const response = await call('GET', path, undefined, 'application/json')
  const link = response.headers.get('link') ?? ''
  const next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1]
  return { items: (await response.json()) as T, next }
}

async function call(method: Method, path: string, body: unknown, accept: string): Promise<Response> {
  const mutation = method !== 'GET'
  const response = await fetch(path, {
    method,
    headers: { accept, ...authHeaders(), ...(mutation ? { 'content-type': 'application/json' } : {}) },
    ...(mutation ? { body: body === undefined ? '' : JSON.stringify(body) } : {}),
    credentials: 'omit',
  })
  if (response.ok) return response
  const problem = (response.headers.get('content-type') ?? '').includes('json')
    ? ((await response.json().catch(() => undefined)) as ProblemDetails | undefined)
    : undefined
  if (response.status === 401) onUnauthorized()
  throw new ApiError(response.status, problem)
}
