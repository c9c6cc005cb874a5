import {
  dataColumns,
  envReferences,
  parseTemplate,
  type ReportProblem,
  type ScenarioDocument,
  type TemplatePart,
} from '@gauntlet/contracts'
import type { RequestPlan } from './scenario.js'

/** The name of the one request of a scenario without `requests:`. */
export const defaultRequestName = 'default'

/** A target URL split where templates may start: the origin is fixed, the path and query may vary. */
export interface SplitUrl {
  /** scheme://host[:port], normalized. */
  origin: string
  /** Path and query as written (templates intact), "/" at least. */
  path: string
}

/**
 * Splits and checks target.url. `new URL()` would percent-encode a template in the path, so the path is
 * kept as written and only checked by rendering placeholders into it; the origin may hold no template.
 */
export function splitTargetUrl(text: string, add: ReportProblem): SplitUrl | undefined {
  const match = /^(https?:\/\/[^/?#]*)([/?][^#]*)?$/i.exec(text)
  if (match && /[{}$]/.test(match[1]!)) {
    add('/target/url', 'scheme, host and port are fixed for a run: templates and ${env.*} go in the path or query')
    return undefined
  }
  let origin: URL | undefined
  try {
    origin = match ? new URL(match[1]!) : new URL(text)
  } catch {
    add('/target/url', `"${text}" is not a valid URL`)
    return undefined
  }
  if (origin.username || origin.password) {
    add(
      '/target/url',
      'credentials in the URL are not sent (and would be stored with the run); use headers: { authorization: ... }',
    )
    return undefined
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') {
    add('/target/url', `only http:// and https:// URLs can be loaded, not ${origin.protocol}//`)
    return undefined
  }
  if (!match) {
    add('/target/url', `"${text}" is not a valid URL (a fragment "#..." is never sent)`)
    return undefined
  }
  const path = match[2] ?? '/'
  return { origin: origin.origin, path: path.startsWith('?') ? `/${path}` : path }
}

/**
 * The requests a run sends, with the rules JSON Schema cannot state: templates that parse, `${env.NAME}`
 * references that are references, data sets that exist, unique names, paths that make URLs, and
 * `requests:` not mixed with target.method or target.body. Without `requests:`, the target's one request.
 */
export function buildRequests(doc: ScenarioDocument, url: SplitUrl, add: ReportProblem): RequestPlan[] | undefined {
  let ok = true
  const problem = (path: string, message: string): void => {
    ok = false
    add(path, message)
  }
  const dataSets = new Set(Object.keys(doc.data ?? {}))
  /** Checks `value` as written (positions in messages are the user's); a path with `prefix` in front of it. */
  const check = (value: string, path: string, place: 'path' | 'header' | 'body', prefix = ''): void => {
    const env = envReferences(value)
    if (!env.ok) return problem(path, env.message)
    const parsed = parseTemplate(value)
    if (!parsed.ok) return problem(path, parsed.message)
    for (const { set } of dataColumns(parsed.parts))
      if (!dataSets.has(set))
        return problem(path, `{{ data.${set}.* }} reads a data set that is not defined under data:`)
    if (place === 'path') checkPathRenders(url.origin, [{ kind: 'text', text: prefix }, ...parsed.parts], path, problem)
  }
  const checkHeaders = (headers: Record<string, string>, base: string): void => {
    for (const [name, value] of Object.entries(headers))
      check(value, `${base}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'header')
  }

  const targetHeaders = doc.target.headers ?? {}
  checkHeaders(targetHeaders, '/target/headers')
  const expected = expectationOf(doc.target.expect)
  if (!doc.requests) {
    check(url.path, '/target/url', 'path')
    if (doc.target.body !== undefined) check(doc.target.body, '/target/body', 'body')
    if (!ok) return undefined
    return [
      {
        name: defaultRequestName,
        weight: 1,
        method: doc.target.method ?? 'GET',
        path: url.path,
        headers: targetHeaders,
        ...(doc.target.body !== undefined ? { body: doc.target.body } : {}),
        ...expected,
      },
    ]
  }

  if (doc.target.method !== undefined)
    problem('/target/method', 'with requests:, each request names its method (default GET)')
  if (doc.target.body !== undefined) problem('/target/body', 'with requests:, each request has its own body')
  if (url.path.includes('?')) problem('/target/url', 'with requests:, target.url is a base: put queries in the paths')
  const basePath = url.path.replace(/\/+$/, '')
  const names = new Set<string>()
  const requests = doc.requests.map((request, i): RequestPlan => {
    const path = `/requests/${i}`
    if (names.has(request.name)) problem(`${path}/name`, `another request is already named "${request.name}"`)
    names.add(request.name)
    if (!request.path.startsWith('/')) problem(`${path}/path`, 'a path starts with "/"')
    else check(request.path, `${path}/path`, 'path', basePath)
    checkHeaders(request.headers ?? {}, `${path}/headers`)
    if (request.body !== undefined && request.bodyFile !== undefined)
      problem(`${path}/bodyFile`, 'give body or bodyFile, not both')
    if (request.body !== undefined) check(request.body, `${path}/body`, 'body')
    // A request's own expect replaces the target's, whole: checks written for another path do not carry over.
    const own = request.expect ? expectationOf(request.expect) : expected
    return {
      name: request.name,
      weight: request.weight ?? 1,
      method: request.method ?? 'GET',
      path: basePath + request.path,
      headers: mergeHeaders(targetHeaders, request.headers ?? {}),
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(request.bodyFile !== undefined ? { bodyFile: request.bodyFile } : {}),
      ...own,
    }
  })
  return ok ? requests : undefined
}

/** An `expect:` section in the request plan's fields. */
function expectationOf(
  expect: ScenarioDocument['target']['expect'],
): Pick<RequestPlan, 'expectStatus' | 'expectBodyContains' | 'expectHeader'> {
  return {
    ...(expect?.status !== undefined ? { expectStatus: expect.status } : {}),
    ...(expect?.bodyContains !== undefined ? { expectBodyContains: expect.bodyContains } : {}),
    ...(expect?.header !== undefined ? { expectHeader: expect.header } : {}),
  }
}

/** The target's headers under a request's own: a name in both (in any case) takes the request's value. */
function mergeHeaders(base: Record<string, string>, own: Record<string, string>): Record<string, string> {
  const ownNames = new Set(Object.keys(own).map((name) => name.toLowerCase()))
  const merged: Record<string, string> = {}
  for (const [name, value] of Object.entries(base)) if (!ownNames.has(name.toLowerCase())) merged[name] = value
  return { ...merged, ...own }
}

/** A path whose templates, rendered with plain placeholders, still makes a URL on the origin. */
function checkPathRenders(
  origin: string,
  parts: readonly TemplatePart[],
  path: string,
  problem: (path: string, message: string) => void,
): void {
  const sample = parts.map((p) => (p.kind === 'text' ? p.text : '1')).join('')
  if (/[\s\0]/.test(sample)) return problem(path, 'a path cannot contain spaces or control characters (write %20)')
  try {
    if (new URL(sample, origin).origin !== origin) problem(path, 'a path cannot change the host')
  } catch {
    problem(path, `"${sample.slice(0, 80)}" does not make a URL`)
  }
}
