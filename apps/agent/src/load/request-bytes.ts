import { isStatic, parseTemplate, type TemplatePart } from '@gauntlet/contracts/plain'

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

/** What one send's templates read: the agent gives fresh values per send. */
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

/** A request rendered for one send: its bytes, and the path its request line carries. */
export interface RenderedRequest {
  bytes: Buffer
  path: string
}

/** Renders a request for one send. A request without templates is built once (and needs no values). */
export type RequestRenderer = (values: SendValues | undefined) => RenderedRequest

/** Where a part is rendered: values in a path are percent-encoded (a SKU with a space stays one path). */
type Place = 'path' | 'header' | 'body'

/** A part of the head or body, with where it goes; adjacent text is merged when compiled. */
type Piece = { text: string } | { part: Exclude<TemplatePart, { kind: 'text' }>; place: Place }

/**
 * Compiles `spec` once: parses every template (they were checked when the scenario loaded; a template
 * that does not parse here is a bug, and throws) and returns the per-send renderer. The head is HTTP/1.1
 * with keep-alive, as autocannon builds it; Content-Length is the rendered body's byte length. On the hot
 * path a send walks a flat list of pieces (text merged ahead of time) and builds one string.
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

  const pathPieces = pieces(path, 'path')
  const head: Piece[] = [{ text: `${spec.method} ` }, ...pathPieces]
  head.push({ text: ` HTTP/1.1\r\n${hasHost ? '' : `Host: ${spec.host}\r\n`}Connection: keep-alive\r\n` })
  for (const header of headers)
    head.push({ text: `${header.name}: ` }, ...pieces(header.value, 'header'), { text: '\r\n' })
  const headList = merge(head)
  const pathList = merge(pathPieces)
  const bodyList = body === undefined ? [] : merge(pieces(body, 'body'))

  const build = (values: SendValues | undefined): RenderedRequest => {
    const bodyText = renderPieces(bodyList, values)
    const length = Buffer.byteLength(bodyText)
    // As autocannon: no Content-Length for an empty body.
    const framing = length > 0 ? `Content-Length: ${length}\r\n` : ''
    return {
      bytes: Buffer.from(`${renderPieces(headList, values)}${framing}\r\n${bodyText}`),
      path: renderPieces(pathList, values),
    }
  }

  if (isStatic(path) && headers.every((h) => isStatic(h.value)) && (body === undefined || isStatic(body))) {
    const rendered = build(undefined)
    return { render: () => rendered, templated: false }
  }
  return { render: (values) => build(values), templated: true }
}

function pieces(parts: readonly TemplatePart[], place: Place): Piece[] {
  return parts.map((part) => (part.kind === 'text' ? { text: part.text } : { part, place }))
}

/** Adjacent text pieces joined: a fixed head between two templates is one string. */
function merge(list: readonly Piece[]): Piece[] {
  const out: Piece[] = []
  for (const piece of list) {
    const last = out[out.length - 1]
    if ('text' in piece && last && 'text' in last) out[out.length - 1] = { text: last.text + piece.text }
    else if (!('text' in piece) || piece.text !== '') out.push(piece)
  }
  return out
}

function renderPieces(list: readonly Piece[], values: SendValues | undefined): string {
  let out = ''
  for (const piece of list) {
    if ('text' in piece) {
      out += piece.text
      continue
    }
    if (!values) throw new Error('a templated request needs send values')
    const text = value(piece.part, values)
    out += piece.place === 'path' ? encodeURIComponent(text) : text
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
      // The controller checked the columns against the data set's header before the run.
      const cell = values.row(part.set)[part.column]
      if (cell === undefined) throw new Error(`data set ${part.set} has no column ${part.column}`)
      return cell
    }
  }
}
