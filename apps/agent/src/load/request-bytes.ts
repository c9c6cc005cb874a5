import { isStatic, parseTemplate, type TemplatePart } from '@gauntlet/contracts'

/** A request as the generator sends it; path, header values and body may hold templates. */
export interface RequestSpec {
  method: string
  /** Path and query, e.g. `/api/orders/{{ seq }}?src=gauntlet`. */
  path: string
  /** The Host header (the target's host:port), unless `headers` sets one. */
  host: string
  headers: Record<string, string>
  body?: string
}

/** What one send's templates read: the agent gives a fresh one per send. */
export interface SendValues {
  seq: number
  /** Epoch ms of the send. */
  nowMs: number
  uuid(): string
  /** An integer in [min, max]. */
  randomInt(min: number, max: number): number
  /** This send's row of a data set (the same row for every column read in one send). */
  row(set: string): Readonly<Record<string, string>>
}

/** Renders a request's bytes for one send. A request without templates is built once (and needs no values). */
export type RequestRenderer = (values: SendValues | undefined) => Buffer

/** Where a part is rendered: values in a path are percent-encoded (a SKU with a space stays one path). */
type Place = 'path' | 'header' | 'body'

/**
 * Compiles `spec` once: parses every template (they were checked when the scenario loaded; a template
 * that does not parse here is a bug, and throws) and returns the per-send renderer. The head is HTTP/1.1
 * with keep-alive, as autocannon builds it; Content-Length is the rendered body's byte length.
 */
export function compileRequest(spec: RequestSpec): { render: RequestRenderer; templated: boolean } {
  const parse = (source: string): TemplatePart[] => {
    const parsed = parseTemplate(source)
    if (!parsed.ok) throw new Error(`request template: ${parsed.message}`)
    return parsed.parts
  }
  const path = parse(spec.path)
  const headers = Object.entries(spec.headers).map(([name, value]) => ({ name, value: parse(value) }))
  const body = spec.body === undefined ? undefined : parse(spec.body)
  const hasHost = headers.some((h) => h.name.toLowerCase() === 'host')
  const staticHead = `${spec.method} `
  const afterPath = ` HTTP/1.1\r\n${hasHost ? '' : `Host: ${spec.host}\r\n`}Connection: keep-alive\r\n`

  const head = (values: SendValues | undefined): string => {
    let text = staticHead + render(path, 'path', values) + afterPath
    for (const header of headers) text += `${header.name}: ${render(header.value, 'header', values)}\r\n`
    return text
  }
  const build = (values: SendValues | undefined): Buffer => {
    const bodyText = body === undefined ? '' : render(body, 'body', values)
    const length = Buffer.byteLength(bodyText)
    // As autocannon: no Content-Length for an empty body.
    const framing = length > 0 ? `Content-Length: ${length}\r\n` : ''
    return Buffer.from(`${head(values)}${framing}\r\n${bodyText}`)
  }

  if (isStatic(path) && headers.every((h) => isStatic(h.value)) && (body === undefined || isStatic(body))) {
    const bytes = build(undefined)
    return { render: () => bytes, templated: false }
  }
  return { render: (values) => build(values), templated: true }
}

function render(parts: readonly TemplatePart[], place: Place, values: SendValues | undefined): string {
  let out = ''
  for (const part of parts) {
    if (part.kind === 'text') {
      out += part.text
      continue
    }
    if (!values) throw new Error('a templated request needs send values')
    out += place === 'path' ? encodeURIComponent(value(part, values)) : value(part, values)
  }
  return out
}

function value(part: Exclude<TemplatePart, { kind: 'text' }>, values: SendValues): string {
  switch (part.kind) {
    case 'uuid':
      return values.uuid()
    case 'seq':
      return String(values.seq)
    case 'now':
      return new Date(values.nowMs).toISOString()
    case 'randomInt':
      return String(values.randomInt(part.min, part.max))
    case 'data': {
      const cell = values.row(part.set)[part.column]
      // The controller checked the columns against the data set's header before the run.
      if (cell === undefined) throw new Error(`data set ${part.set} has no column ${part.column}`)
      return cell
    }
  }
}
