/**
 * The knobs of the demo target: every behaviour a demo or test can turn. Parsed from CLI flags
 * (defaulted from DEMO_TARGET_* environment variables), and re-validated by the same rules when
 * changed at runtime through PUT /__knobs, so a bad value is rejected the same way everywhere.
 */
import { parseArgs } from 'node:util'

export type OverloadMode = 'shed' | 'queue'

export interface Knobs {
  port: number
  host: string
  /** Base service time added to every request, in ms. */
  latencyMs: number
  /** Uniform +/- jitter around latencyMs, in ms; the result is clamped at 0. */
  jitterMs: number
  /** Probability (0..1) that a request is answered 500. */
  errorRate: number
  /** Requests per second the target serves; null means unlimited. */
  capacityRps: number | null
  /** What happens above capacity: answer 503 at once, or wait in a FIFO queue. */
  overload: OverloadMode
  /** The one-shot stall starts this long after the first request. */
  stallAfterMs: number
  /** How long the one-shot stall blocks the event loop; 0 disables it. */
  stallForMs: number
  /** Memory retained per second while listening, in KB. */
  leakKbPerS: number
}

export type Env = Readonly<Record<string, string | undefined>>

export const defaultKnobs: Readonly<Knobs> = Object.freeze({
  port: 0,
  host: '127.0.0.1',
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  capacityRps: null,
  overload: 'shed',
  stallAfterMs: 0,
  stallForMs: 0,
  leakKbPerS: 0,
})

/** A rejected knob value; the server maps it to 400, main to exit code 2. */
export class KnobError extends Error {
  override name = 'KnobError'
}

interface KnobSpec {
  flag: string
  key: keyof Knobs
  /** port and host only make sense before listening. */
  runtime: boolean
  /** `raw` is a string from argv/env, or any JSON value from PUT /__knobs. */
  parse: (raw: unknown, label: string) => Knobs[keyof Knobs]
}

const show = (raw: unknown): string => JSON.stringify(raw) ?? String(raw)

function toNumber(raw: unknown, label: string, expected: string): number {
  // Number('') is 0, so blank strings are rejected explicitly instead of silently meaning 0.
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
  if (!Number.isFinite(n)) throw new KnobError(`${label} must be ${expected} (got ${show(raw)})`)
  return n
}

function nonNegative(expected: string) {
  return (raw: unknown, label: string): number => {
    const n = toNumber(raw, label, expected)
    if (n < 0) throw new KnobError(`${label} must be ${expected} (got ${show(raw)})`)
    return n
  }
}

const milliseconds = nonNegative('a non-negative number of milliseconds')

const specs: readonly KnobSpec[] = [
  {
    flag: 'port',
    key: 'port',
    runtime: false,
    parse: (raw, label) => {
      const n = toNumber(raw, label, 'an integer port 0..65535')
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new KnobError(`${label} must be an integer port 0..65535 (got ${show(raw)})`)
      return n
    },
  },
  {
    flag: 'host',
    key: 'host',
    runtime: false,
    parse: (raw, label) => {
      if (typeof raw !== 'string' || raw.trim() === '')
        throw new KnobError(`${label} must be a non-empty host name or address (got ${show(raw)})`)
      return raw.trim()
    },
  },
  { flag: 'latency', key: 'latencyMs', runtime: true, parse: milliseconds },
  { flag: 'jitter', key: 'jitterMs', runtime: true, parse: milliseconds },
  {
    flag: 'error-rate',
    key: 'errorRate',
    runtime: true,
    parse: (raw, label) => {
      const n = toNumber(raw, label, 'a fraction between 0 and 1')
      if (n < 0 || n > 1) throw new KnobError(`${label} must be a fraction between 0 and 1 (got ${show(raw)})`)
      return n
    },
  },
  {
    flag: 'capacity',
    key: 'capacityRps',
    runtime: true,
    parse: (raw, label) => {
      // null (JSON only) lifts the limit at runtime; 0 rps would either shed or hang everything.
      if (raw === null) return null
      const n = toNumber(raw, label, 'a positive number of requests per second')
      if (n <= 0) throw new KnobError(`${label} must be a positive number of requests per second (got ${show(raw)})`)
      return n
    },
  },
  {
    flag: 'overload',
    key: 'overload',
    runtime: true,
    parse: (raw, label) => {
      if (raw !== 'shed' && raw !== 'queue')
        throw new KnobError(`${label} must be "shed" or "queue" (got ${show(raw)})`)
      return raw
    },
  },
  { flag: 'stall-after', key: 'stallAfterMs', runtime: true, parse: milliseconds },
  { flag: 'stall-for', key: 'stallForMs', runtime: true, parse: milliseconds },
  {
    flag: 'leak-kb-per-s',
    key: 'leakKbPerS',
    runtime: true,
    parse: nonNegative('a non-negative number of KB per second'),
  },
]

/** PUT /__knobs accepts both the flag spelling ("error-rate") and the property name ("errorRate"). */
const specByName = new Map<string, KnobSpec>(specs.flatMap((s) => [[s.flag, s] as const, [s.key, s] as const]))

const envName = (flag: string): string => `DEMO_TARGET_${flag.toUpperCase().replaceAll('-', '_')}`

function assign(knobs: Knobs, spec: KnobSpec, raw: unknown, label: string): void {
  ;(knobs as unknown as Record<string, unknown>)[spec.key] = spec.parse(raw, label)
}

/**
 * Parses CLI arguments (without the node and script paths). Flags win over DEMO_TARGET_<FLAG>
 * environment variables, which win over the defaults. Throws KnobError naming the flag.
 */
export function parseKnobs(argv: readonly string[], env: Env = {}): Knobs {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>
  try {
    ;({ values } = parseArgs({
      args: joinNegativeValues(argv),
      options: Object.fromEntries(specs.map((s) => [s.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new KnobError(describeParseArgsError(err))
  }
  const knobs: Knobs = { ...defaultKnobs }
  for (const spec of specs) {
    // A flag wins over its environment variable, so a bad variable is not even read when the flag is given.
    const fromArg = values[spec.flag]
    const fromEnv = env[envName(spec.flag)]
    if (fromArg !== undefined) assign(knobs, spec, fromArg, `--${spec.flag}`)
    else if (fromEnv !== undefined && fromEnv.trim() !== '')
      assign(knobs, spec, fromEnv, `${envName(spec.flag)} (--${spec.flag})`)
  }
  return knobs
}

/**
 * parseArgs refuses `--latency -5` as "ambiguous" (the value looks like a flag). Joining it into
 * `--latency=-5` lets validation report the real problem: the value is negative.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = argv[i + 1]
    if (next !== undefined && /^-\.?\d/.test(next) && specs.some((s) => arg === `--${s.flag}`)) {
      out.push(`${arg}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

function describeParseArgsError(err: unknown): string {
  const e = err as { code?: string; message?: string }
  // node's own text for unknown options is a long hint about positionals; keep just the flag.
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(e.message ?? '')?.[1]
    return flag ? `unknown flag ${flag}` : String(e.message)
  }
  // node's messages can span lines; main prints one line per error.
  return String(e.message ?? err).replace(/\s*\n\s*/g, ' ')
}

export interface KnobUpdate {
  knobs: Knobs
  /** Knobs the patch named, whether or not their value changed. */
  touched: (keyof Knobs)[]
}

/**
 * Validates a runtime patch (parsed JSON) against `current` and returns the merged knobs; nothing
 * is applied unless every entry is valid. Throws KnobError on any bad or unknown entry.
 */
export function updateKnobs(
  current: Readonly<Knobs>,
  patch: unknown,
  options: { allowStartupKnobs?: boolean } = {},
): KnobUpdate {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
    throw new KnobError('knob update must be a JSON object')
  const knobs: Knobs = { ...current }
  const touched: (keyof Knobs)[] = []
  for (const [name, raw] of Object.entries(patch)) {
    const spec = specByName.get(name)
    if (!spec) throw new KnobError(`unknown knob ${show(name)}`)
    if (!spec.runtime && !options.allowStartupKnobs) throw new KnobError(`--${spec.flag} cannot be changed at runtime`)
    if (raw === undefined) continue
    assign(knobs, spec, raw, `--${spec.flag}`)
    touched.push(spec.key)
  }
  return { knobs, touched }
}
