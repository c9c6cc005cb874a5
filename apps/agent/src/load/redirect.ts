/**
 * followRedirects: which redirects are followed and what request each leads to. The generator can only
 * send on its connection to the target, so only a Location on the target's own origin can be followed.
 */

export const maxRedirectHops = 5

/** A request as far as a redirect changes it. */
export interface RequestLine {
  method: string
  /** Path and query, as sent on the request line. */
  path: string
  /** Whether the scenario's body goes with it. */
  withBody: boolean
}

/** Statuses that redirect (fetch's "redirect status"); 300, 304 and the rest of 3xx are final responses. */
export function isRedirectStatus(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}

/**
 * The request that follows `status` with `location`, or undefined when it points at another origin (or
 * is not a URL). 303, and 301/302 after a POST, become a GET without body (as browsers and fetch do);
 * 307 and 308 keep the method and body. `base` is the current request's URL.
 */
export function redirectRequest(
  status: number,
  location: string,
  current: RequestLine,
  base: URL,
  origins: ReadonlySet<string>,
): RequestLine | undefined {
  let next: URL
  try {
    next = new URL(location, base)
  } catch {
    return undefined
  }
  if (!origins.has(next.origin)) return undefined
  const toGet =
    (status === 303 && current.method !== 'HEAD') || ((status === 301 || status === 302) && current.method === 'POST')
  return {
    method: toGet ? 'GET' : current.method,
    path: `${next.pathname}${next.search}`,
    withBody: toGet ? false : current.withBody,
  }
}

/** Headers that describe a body: they go when a redirect drops it. */
const bodyHeaders = new Set(['content-type', 'content-encoding', 'content-language', 'content-location'])

/**
 * The bytes of a followed request, framed as autocannon frames the first one (keep-alive, Content-Length
 * when there is a body). `headers` holds Host (connectionTargetFor adds it) or `host` stands in.
 */
export function requestBytes(
  line: RequestLine,
  headers: Readonly<Record<string, string>>,
  host: string,
  body: string | undefined,
): Buffer {
  const lines = [`${line.method} ${line.path} HTTP/1.1`]
  const names = Object.keys(headers)
  if (!names.some((name) => name.toLowerCase() === 'host')) lines.push(`Host: ${host}`)
  lines.push('Connection: keep-alive')
  for (const name of names) {
    if (!line.withBody && bodyHeaders.has(name.toLowerCase())) continue
    lines.push(`${name}: ${headers[name]}`)
  }
  const payload = line.withBody && body ? Buffer.from(body) : undefined
  if (payload && payload.length > 0) lines.push(`Content-Length: ${payload.length}`)
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`)
  return payload && payload.length > 0 ? Buffer.concat([head, payload]) : head
}

/**
 * The bytes of a followed request from the bytes the first one was sent with: its headers as they were
 * rendered (a templated header keeps its value), the body only when `line` keeps it.
 */
export function followedBytes(original: Buffer, line: RequestLine): Buffer {
  const headEnd = original.indexOf('\r\n\r\n')
  const head = original.subarray(0, headEnd < 0 ? original.length : headEnd).toString('latin1')
  const headers: Record<string, string> = {}
  for (const text of head.split('\r\n').slice(1)) {
    const colon = text.indexOf(':')
    if (colon <= 0) continue
    const name = text.slice(0, colon)
    // Framing and keep-alive are rewritten for the followed request.
    if (['content-length', 'connection'].includes(name.toLowerCase())) continue
    headers[name] = text.slice(colon + 1).trim()
  }
  const body = headEnd < 0 ? undefined : original.subarray(headEnd + 4).toString()
  return requestBytes(line, headers, '', body)
}
