/**
 * Request templates: the values that change from one send to the next in a request's path, header
 * values and body. A template is parsed once, when the scenario loads, into parts; the agent renders the
 * parts per send without parsing anything. Not a scripting language: the expressions are the five below.
 *
 *   {{ uuid }}                a random UUID (v4)
 *   {{ seq }}                 this run's send counter, unique across agents
 *   {{ randomInt a b }}       an integer from a to b, both included
 *   {{ now }}                 the send time, ISO 8601 (UTC, milliseconds)
 *   {{ data.<set>.<column> }} a column of the data set's row for this send (one row per send)
 *
 * `{{{{` writes a literal `{{`. Environment references (`${env.NAME}`) are not templates: the controller
 * substitutes them once, at run start (see envReferences).
 */

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'uuid' }
  | { kind: 'seq' }
  | { kind: 'now' }
  | { kind: 'randomInt'; min: number; max: number }
  | { kind: 'data'; set: string; column: string }

export type TemplateParse = { ok: true; parts: TemplatePart[] } | { ok: false; message: string }

/** The expressions, for messages. */
const expressions = '{{ uuid }}, {{ seq }}, {{ randomInt a b }}, {{ now }}, {{ data.<set>.<column> }}'

/** A data set or column name: what a CSV header or a YAML key would reasonably hold. */
const dataName = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/

/** Parses `source`; text without `{{` is a single text part. */
export function parseTemplate(source: string): TemplateParse {
  const parts: TemplatePart[] = []
  let text = ''
  let i = 0
  while (i < source.length) {
    const open = source.indexOf('{{', i)
    if (open < 0) {
      text += source.slice(i)
      break
    }
    text += source.slice(i, open)
    if (source.startsWith('{{{{', open)) {
      text += '{{'
      i = open + 4
      continue
    }
    const close = source.indexOf('}}', open + 2)
    if (close < 0)
      return {
        ok: false,
        message: `"{{" at character ${open + 1} is never closed with "}}" (a literal "{{" is "{{{{")`,
      }
    const expression = parseExpression(source.slice(open + 2, close).trim())
    if (typeof expression === 'string') return { ok: false, message: `at character ${open + 1}: ${expression}` }
    if (text) parts.push({ kind: 'text', text })
    text = ''
    parts.push(expression)
    i = close + 2
  }
  if (text || parts.length === 0) parts.push({ kind: 'text', text })
  return { ok: true, parts }
}

/** A template whose every part is text renders the same bytes each time. */
export function isStatic(parts: readonly TemplatePart[]): boolean {
  return parts.every((p) => p.kind === 'text')
}

/** The data set columns a template reads, as `set.column`. */
export function dataColumns(parts: readonly TemplatePart[]): Array<{ set: string; column: string }> {
  return parts.flatMap((p) => (p.kind === 'data' ? [{ set: p.set, column: p.column }] : []))
}

function parseExpression(expression: string): Exclude<TemplatePart, { kind: 'text' }> | string {
  const words = expression.split(/\s+/).filter(Boolean)
  const [name, ...args] = words
  switch (name) {
    case undefined:
      return `an empty {{ }}; expected one of ${expressions}`
    case 'uuid':
    case 'seq':
    case 'now':
      return args.length === 0 ? { kind: name } : `{{ ${name} }} takes no arguments`
    case 'randomInt': {
      const [a, b] = args.map((arg) => (/^-?\d{1,15}$/.test(arg) ? Number(arg) : Number.NaN))
      if (args.length !== 2 || !Number.isSafeInteger(a) || !Number.isSafeInteger(b))
        return '{{ randomInt a b }} takes two integers, e.g. {{ randomInt 1 5 }}'
      if (a! > b!) return `{{ randomInt ${a} ${b} }}: the first bound must not be larger than the second`
      // crypto.randomInt draws below max + 1, and needs that span under 2^48.
      if (b! - a! >= 2 ** 48 - 1) return `{{ randomInt ${a} ${b} }}: the range is under 2^48 wide`
      return { kind: 'randomInt', min: a!, max: b! }
    }
    default: {
      const data = /^data\.([^.\s]+)\.([^.\s]+)$/.exec(name)
      if (data && args.length === 0) {
        const [, set, column] = data
        if (!dataName.test(set!) || !dataName.test(column!))
          return `"${name}": data set and column names are letters, digits, "_" or "-"`
        return { kind: 'data', set: set!, column: column! }
      }
      return `unknown expression "${expression.length > 40 ? `${expression.slice(0, 40)}…` : expression}"; expected one of ${expressions}`
    }
  }
}

/** `${env.NAME}` references in a value, with where they are; `${` not followed by `env.NAME}` is reported. */
export interface EnvReference {
  name: string
  start: number
  end: number
}

export type EnvScan = { ok: true; references: EnvReference[] } | { ok: false; message: string }

/** Environment variable names: the portable POSIX form. */
const envName = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/

/**
 * Finds the `${env.NAME}` references in `value`. Any other `${…}` is refused rather than sent literally
 * (`Bearer ${API_TOKEN}` was a user's mistake that validated); `$${` writes a literal `${`.
 */
export function envReferences(value: string): EnvScan {
  const references: EnvReference[] = []
  let i = 0
  while ((i = value.indexOf('${', i)) >= 0) {
    if (i > 0 && value[i - 1] === '$') {
      i += 2
      continue
    }
    const close = value.indexOf('}', i + 2)
    const inner = close < 0 ? undefined : value.slice(i + 2, close)
    const name = inner?.startsWith('env.') ? inner.slice(4) : undefined
    if (name === undefined || !envName.test(name)) {
      const shown = close < 0 ? value.slice(i, i + 20) : value.slice(i, close + 1)
      return {
        ok: false,
        message:
          `"${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}" at character ${i + 1} is not an environment ` +
          `reference: write \${env.NAME} to send the variable NAME's value (read once at run start), or $\${ for a ` +
          'literal "${"',
      }
    }
    references.push({ name, start: i, end: close + 1 })
    i = close + 1
  }
  return { ok: true, references }
}

/**
 * `value` with each reference replaced by `lookup(name)` and each `$${` by `${`. `lookup` returns
 * undefined for a variable it cannot give; the caller has checked every reference with envReferences.
 */
export function substituteEnv(
  value: string,
  references: readonly EnvReference[],
  lookup: (name: string) => string,
): string {
  let out = ''
  let at = 0
  for (const ref of references) {
    out += unescapeDollar(value.slice(at, ref.start)) + lookup(ref.name)
    at = ref.end
  }
  return out + unescapeDollar(value.slice(at))
}

function unescapeDollar(text: string): string {
  return text.replaceAll('$${', '${')
}
