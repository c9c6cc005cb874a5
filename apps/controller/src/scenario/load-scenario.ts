import {
  formatDuration,
  GauntletError,
  hookEvents,
  parseStatusItem,
  parseDurationMs,
  ScenarioSchema,
  type HooksDocument,
  type Problem,
  type ScenarioDocument,
  type TargetTlsDocument,
  type TargetMetricsDocument,
  type ReportProblem,
} from '@gauntlet/contracts'
// Errors from typebox/errors, not Value.Errors from typebox/value: the same function, without loading every other
// Value operation (~45 more modules of start-up for every run).
import { Errors, ValueErrorType, type ValueError } from '@gauntlet/contracts/typebox'
import { readFile } from 'node:fs/promises'
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml'
import { buildFaults } from '@gauntlet/faults/documents'
import { buildDecision } from './decision-section.js'
import { wholeSeconds } from './duration.js'
import { planSteps } from './ramp-plan.js'
import { defaults, type Scenario } from './scenario.js'
import { buildRequests, splitTargetUrl, type SplitUrl } from './request-section.js'
import { parseThreshold, type Threshold } from './thresholds.js'
import { SourceLocator } from './source-locator.js'

/** Scenario files larger than this are refused before parsing. */
export const maxScenarioBytes = 1_048_576
/** Problems reported at most: beyond it one line says how many more (the answer stays small, the work linear). */
const maxProblems = 100
/** Flow collections nested deeper than this are refused before parsing (the parser recurses on them). */
const maxFlowDepth = 64
/** A message quotes at most this much of the input. */
const maxMessageChars = 300

export async function loadScenarioFile(file: string): Promise<{ scenario: Scenario; yaml: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new GauntletError('usage', `${file}: cannot read scenario: ${reason}`)
  }
  return { scenario: parseScenario(text, file), yaml: text }
}

/**
 * YAML text -> validated Scenario. Reports every problem at once, each with its path and line:column,
 * as a GauntletError('invalid_scenario'). Nothing else in Gauntlet constructs a Scenario.
 */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  if (Buffer.byteLength(text) > maxScenarioBytes) {
    throw invalid(file, [
      { path: '', message: `scenario is larger than ${maxScenarioBytes} bytes`, line: 1, column: 1 },
    ])
  }
  const deep = flowDepthExceeded(text)
  if (deep)
    throw invalid(file, [{ path: '', message: `YAML: collections nested deeper than ${maxFlowDepth} levels`, ...deep }])
  const lines = new LineCounter()
  // Duplicate keys are found below in one pass: the parser's own check compares every key of a map
  // with every other (30,000 keys took 4 s).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false })
  const yamlProblems = [
    ...doc.errors.map((error) => ({ offset: error.pos[0], message: `YAML: ${firstLine(error.message)}` })),
    ...duplicateKeyOffsets(doc).map((offset) => ({ offset, message: 'YAML: Map keys must be unique' })),
  ]
  if (yamlProblems.length > 0) {
    throw invalid(
      file,
      yamlProblems.slice(0, maxProblems).map(({ offset, message }) => {
        const { line, col } = lines.linePos(offset)
        return { path: '', message, line, column: col }
      }),
    )
  }
  let raw: unknown
  try {
    raw = doc.toJS({ maxAliasCount: 100 })
  } catch (error) {
    // An alias bomb ("billion laughs") or similar: refuse it as input, not as an internal error.
    throw invalid(file, [{ path: '', message: `YAML: ${firstLine((error as Error).message)}`, line: 1, column: 1 }])
  }
  const locator = new SourceLocator(doc, lines)
  const problems: Problem[] = []
  let unreported = 0
  const add = (path: string, message: string, at?: { line: number; column: number }): void => {
    if (problems.length >= maxProblems) {
      unreported++
      return
    }
    const shown = message.length > maxMessageChars ? `${message.slice(0, maxMessageChars)}…` : message
    problems.push({ path, message: shown, ...(at ?? locator.locate(path)) })
  }

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    add('', 'a scenario is a YAML mapping with name, target and load')
    throw invalid(file, problems)
  }

  // One problem per path (the schema can report several for one value); the errors are read lazily, so
  // a document with thousands of mistakes costs no more than its first maxProblems.
  const reportedPaths = new Set<string>()
  for (const error of Errors(ScenarioSchema, raw)) {
    if (problems.length >= maxProblems) {
      unreported++
      break
    }
    const problem = describeSchemaError(error)
    if (reportedPaths.has(problem.path)) continue
    reportedPaths.add(problem.path)
    add(
      problem.path,
      problem.message,
      problem.unknownKey ? locator.locateKey(problem.parent, problem.unknownKey) : undefined,
    )
  }
  // Semantic checks run on every section the schema accepted, so one pass reports everything.
  const schemaPaths = problems.map((p) => p.path)
  const schemaAccepted = (prefix: string): boolean =>
    !schemaPaths.some(
      (path) => path === prefix || path.startsWith(`${prefix}/`) || prefix.startsWith(`${path}/`) || path === '',
    )
  const scenario = buildScenario(raw as ScenarioDocument, add, schemaAccepted)
  if (problems.length > 0 || !scenario) {
    const sorted = sortByPosition(problems)
    if (unreported > 0)
      sorted.push({
        path: '',
        message: `and more problems not shown (the first ${maxProblems} are): fix these and validate again`,
        line: 1,
        column: 1,
      })
    throw invalid(file, sorted)
  }
  return scenario
}

/** Where each repeated key of a mapping is written (a Set per mapping: linear in the document). */
function duplicateKeyOffsets(doc: Document.Parsed): number[] {
  const offsets: number[] = []
  visit(doc, {
    Map(_key, map) {
      const keys = new Set<unknown>()
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key
        if (keys.has(key)) offsets.push((pair.key as { range?: number[] } | null)?.range?.[0] ?? 0)
        keys.add(key)
      }
    },
  })
  return offsets
}

/**
 * Where flow collections ("[", "{") first nest deeper than maxFlowDepth, outside quoted text and
 * comments; undefined when they never do. A cheap linear scan, before the recursive parser sees it.
 */
function flowDepthExceeded(text: string): { line: number; column: number } | undefined {
  let depth = 0
  let line = 1
  let lineStart = 0
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\n') {
      line++
      lineStart = i + 1
      if (quote === undefined) continue
    }
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++
      else if (c === quote) quote = undefined
      continue
    }
    // A quote opens a quoted scalar only where one can start (not the apostrophe inside "it's").
    if ((c === '"' || c === "'") && (i === lineStart || /[\s[{,:]/.test(text[i - 1]!))) quote = c
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i)
      i = end === -1 ? text.length : end - 1
    } else if (c === '[' || c === '{') {
      if (++depth > maxFlowDepth) return { line, column: i - lineStart + 1 }
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1)
  }
  return undefined
}

/** Rules JSON Schema cannot state: units, ramp arithmetic, whole seconds, the threshold grammar. */
function buildScenario(
  doc: ScenarioDocument,
  add: ReportProblem,
  schemaAccepted: (prefix: string) => boolean,
): Scenario | undefined {
  const steps = schemaAccepted('/load') ? planSteps(doc.load, add) : undefined
  const warmupS = schemaAccepted('/load/warmup')
    ? wholeSeconds(doc.load?.warmup === undefined ? 0 : parseDurationMs(doc.load.warmup)!, '/load/warmup', add)
    : undefined
  const thresholds: Threshold[] = []
  if (Array.isArray(doc.thresholds)) {
    doc.thresholds.forEach((source, i) => {
      if (typeof source !== 'string') return
      const parsed = parseThreshold(source)
      if (!parsed.ok) return add(`/thresholds/${i}`, parsed.message)
      const unknown = unknownRequest(parsed.threshold.request, doc)
      if (unknown) return add(`/thresholds/${i}`, `threshold "${source}": ${unknown}`)
      thresholds.push(parsed.threshold)
    })
  }
  if (warmupS !== undefined) {
    // A ramp's steps all last `every`: one problem, not one per step.
    const tooShort = (steps ?? []).filter((step) => warmupS >= step.durationS)
    for (const step of doc.load.ramp ? tooShort.slice(0, 1) : tooShort) {
      const i = steps!.indexOf(step)
      add(
        doc.load.ramp ? '/load/warmup' : `/load/steps/${i}/duration`,
        `warmup (${warmupS}s) must be shorter than every step (step ${i + 1} lasts ${step.durationS}s)`,
      )
    }
  }
  if (schemaAccepted('/load') && doc.load.connections !== undefined && doc.load.maxConnections !== undefined) {
    add('/load/maxConnections', 'maxConnections applies only when connections is not fixed; set one of them')
  }

  const url = schemaAccepted('/target/url') ? splitTargetUrl(doc.target.url, add) : undefined
  const requests =
    url && schemaAccepted('/target') && schemaAccepted('/requests') && schemaAccepted('/data')
      ? buildRequests(doc, url, add)
      : undefined
  if (schemaAccepted('/target/headers')) checkHeaders(doc.target?.headers ?? {}, '/target/headers', add)
  if (schemaAccepted('/requests'))
    (doc.requests ?? []).forEach((r, i) => checkHeaders(r.headers ?? {}, `/requests/${i}/headers`, add))
  checkExpect(doc.target?.expect, add, schemaAccepted)
  ;(doc.requests ?? []).forEach((r, i) => checkExpect(r.expect, add, schemaAccepted, `/requests/${i}/expect`))
  const timeoutMs = doc.target?.timeout === undefined ? defaults.timeoutMs : parseDurationMs(doc.target.timeout)
  if (
    schemaAccepted('/target/timeout') &&
    timeoutMs !== undefined &&
    (timeoutMs < 1 || timeoutMs > defaults.maxTimeoutMs)
  ) {
    add('/target/timeout', `timeout must be between 1ms and ${formatDuration(defaults.maxTimeoutMs)}`)
  }

  if (schemaAccepted('/target/tls') && doc.target?.tls) checkTls(doc.target.tls, url, add)

  const hooks = schemaAccepted('/hooks') ? buildHooks(doc.hooks ?? {}, add) : undefined
  const faults = schemaAccepted('/faults')
    ? buildFaults(doc.faults ?? [], '/faults', add, (i, fault) => `f${i + 1}-${fault.type}`, steps?.length)
    : undefined

  const decision =
    doc.decision && schemaAccepted('/decision') && steps && warmupS !== undefined
      ? buildDecision(
          doc.decision,
          {
            loadWarmupS: warmupS,
            stepDurationsS: steps.map((s) => s.durationS),
            faultCount: doc.faults?.length ?? 0,
            targetSeries: doc.targetMetrics?.series,
            requestNames: (doc.requests ?? []).map((r) => r.name),
          },
          add,
        )
      : undefined

  if (
    !url ||
    !requests ||
    timeoutMs === undefined ||
    !steps ||
    warmupS === undefined ||
    !faults ||
    !hooks ||
    !schemaAccepted('/target') ||
    !schemaAccepted('/load') ||
    !schemaAccepted('/thresholds')
  )
    return undefined
  if (doc.decision && !decision) return undefined
  const targetMetrics =
    doc.targetMetrics && schemaAccepted('/targetMetrics') ? buildTargetMetrics(doc.targetMetrics, add) : undefined
  if (doc.targetMetrics && !targetMetrics) return undefined
  return {
    name: doc.name,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    target: {
      url: displayUrl(url),
      method: doc.target.method ?? 'GET',
      headers: doc.target.headers ?? {},
      ...(doc.target.body !== undefined ? { body: doc.target.body } : {}),
      timeoutMs,
      ...(doc.target.expect?.status !== undefined ? { expectStatus: doc.target.expect.status } : {}),
      ...(doc.target.expect?.bodyContains !== undefined ? { expectBodyContains: doc.target.expect.bodyContains } : {}),
      ...(doc.target.expect?.header !== undefined ? { expectHeader: doc.target.expect.header } : {}),
      ...(doc.target.followRedirects === true ? { followRedirects: true } : {}),
      ...(doc.target.tls !== undefined
        ? { tls: { ...doc.target.tls, insecure: doc.target.tls.insecure ?? false } }
        : {}),
    },
    requests,
    perRequest: doc.requests !== undefined,
    data: Object.fromEntries(
      Object.entries(doc.data ?? {}).map(([name, set]) => [name, { file: set.file, order: set.order ?? 'sequential' }]),
    ),
    steps,
    warmupS,
    ...(doc.load.connections !== undefined ? { connections: doc.load.connections } : {}),
    maxConnections: doc.load.maxConnections ?? defaults.maxConnections,
    thresholds,
    onThresholdFail: doc.onThresholdFail ?? 'stop',
    onAgentLoss: doc.onAgentLoss ?? 'redistribute',
    faults,
    hooks,
    ...(decision ? { decision } : {}),
    ...(targetMetrics ? { targetMetrics } : {}),
  }
}

/** The target's Prometheus endpoint: an http(s) URL, and a cooldown after the load (default 10s, at most 10m). */
function buildTargetMetrics(doc: TargetMetricsDocument, add: ReportProblem): Scenario['targetMetrics'] {
  const problem = outboundUrlProblem(doc.url)
  if (problem) {
    add('/targetMetrics/url', problem)
    return undefined
  }
  const cooldownMs = doc.cooldown === undefined ? 10_000 : parseDurationMs(doc.cooldown)!
  const cooldownS = wholeSeconds(cooldownMs, '/targetMetrics/cooldown', add)
  if (cooldownS === undefined) return undefined
  if (cooldownS > 600) {
    add('/targetMetrics/cooldown', 'a cooldown lasts at most 10m')
    return undefined
  }
  return { url: new URL(doc.url).toString(), series: [...new Set(doc.series)], cooldownS }
}

/** Why a URL Gauntlet will call (a hook, a metrics endpoint) cannot be one, if it cannot. */
function outboundUrlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `"${text}" is not an http(s) URL`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}" is not an http(s) URL`
  // Stored with the scenario and shown with every run: a credential has no place in it.
  if (url.username || url.password)
    return 'credentials (user:password@) in the URL would be stored and shown with every run'
  return undefined
}

/** Hooks with units resolved: http(s) URLs, a timeout up to 60s (default 5s), retries (default 3). */
function buildHooks(doc: HooksDocument, add: ReportProblem): Scenario['hooks'] | undefined {
  const hooks: Scenario['hooks'] = {}
  let ok = true
  for (const event of hookEvents) {
    hooks[event] = (doc[event] ?? []).map((hook, i) => {
      const path = `/hooks/${event}/${i}`
      const problem = outboundUrlProblem(hook.url)
      if (problem) {
        ok = false
        add(`${path}/url`, problem)
      }
      const timeoutMs = hook.timeout === undefined ? 5000 : parseDurationMs(hook.timeout)!
      if (timeoutMs < 1 || timeoutMs > 60_000) {
        ok = false
        add(`${path}/timeout`, 'a hook timeout is between 1ms and 60s')
      }
      return {
        url: hook.url,
        timeoutMs,
        retries: hook.retries ?? 3,
        ...(hook.secret !== undefined ? { secret: hook.secret } : {}),
      }
    })
  }
  return ok ? hooks : undefined
}

/** Why a `{request=<name>}` selector names no request of the scenario's mix, if it does not. */
function unknownRequest(name: string | undefined, doc: ScenarioDocument): string | undefined {
  if (name === undefined) return undefined
  const names = (doc.requests ?? []).map((r) => r.name)
  if (names.length === 0) return `{request=${name}} selects a request of a requests: mix, and this scenario has none`
  return names.includes(name) ? undefined : `no request is named "${name}"; the requests are ${names.join(', ')}`
}

/** The URL as runs show it: normalized, unless its path holds templates (which URL would percent-encode). */
function displayUrl(url: SplitUrl): string {
  return /\{\{|\$\{/.test(url.path) ? url.origin + url.path : new URL(url.path, url.origin).toString()
}

/**
 * What target.tls says without reading files: it belongs to an https target, and a client certificate
 * comes with its key. PEM contents and paths are checked by resolveScenarioFiles (scenario-files.ts).
 */
function checkTls(tls: TargetTlsDocument, url: SplitUrl | undefined, add: ReportProblem): void {
  if (url && !url.origin.startsWith('https:')) add('/target/tls', 'tls applies to https:// targets only')
  if (tls.cert !== undefined && tls.key === undefined)
    add('/target/tls/cert', 'a client certificate needs its private key: add target.tls.key')
  if (tls.key !== undefined && tls.cert === undefined)
    add('/target/tls/key', 'a private key needs its client certificate: add target.tls.cert')
}

/** RFC 9110 token characters: what a header name may contain. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Gauntlet owns message framing and keep-alive; a user value would clash with its own. */
const ownedHeaders = new Set(['content-length', 'transfer-encoding', 'connection'])

function checkHeaders(headers: Record<string, string>, base: string, add: ReportProblem): void {
  for (const [name, value] of Object.entries(headers)) {
    const path = `${base}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`
    if (!headerName.test(name)) add(path, `"${name}" is not a valid header name`)
    else if (ownedHeaders.has(name.toLowerCase()))
      add(path, `${name} is set by Gauntlet (framing and keep-alive are its job); remove it`)
    else if (/[\r\n\0]/.test(value)) add(path, 'a header value cannot contain CR, LF or NUL')
    else if (name.toLowerCase() === 'host' && value.trim() === '')
      add(path, 'an empty Host header would be rejected by the target')
  }
}

/**
 * What the schema cannot say about target.expect: ranges in order, header names valid and distinct.
 * Item by item, so a backwards range is reported beside another item's schema problem.
 */
function checkExpect(
  expect: ScenarioDocument['target']['expect'] | undefined,
  add: ReportProblem,
  schemaAccepted: (prefix: string) => boolean,
  base = '/target/expect',
): void {
  if (expect === null || typeof expect !== 'object') return
  if (Array.isArray(expect.status)) {
    expect.status.forEach((item, i) => {
      const path = `${base}/status/${i}`
      if (!schemaAccepted(path)) return
      const parsed = parseStatusItem(item)
      if ('problem' in parsed) add(path, parsed.problem)
    })
  }
  if (expect.header === null || typeof expect.header !== 'object') return
  const seen = new Set<string>()
  for (const name of Object.keys(expect.header)) {
    const path = `${base}/header/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`
    if (!schemaAccepted(path)) continue
    if (!headerName.test(name)) add(path, `"${name}" is not a valid header name`)
    else if (seen.has(name.toLowerCase())) add(path, `header "${name}" is listed twice (names are case-insensitive)`)
    seen.add(name.toLowerCase())
  }
}

interface SchemaProblem {
  path: string
  message: string
  parent: string
  unknownKey?: string
}

function describeSchemaError(error: ValueError): SchemaProblem {
  const hint = (error.schema as { errorMessage?: string }).errorMessage
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      // TypeBox reports the extra key's own path; point at the key, not its value.
      const slash = error.path.lastIndexOf('/')
      const parent = error.path.slice(0, slash)
      const key = error.path.slice(slash + 1)
      const known = Object.keys((error.schema as { properties?: object }).properties ?? {})
      return {
        path: error.path,
        parent,
        unknownKey: key,
        message: `unknown key "${key}"${known.length ? `; expected one of: ${known.join(', ')}` : ''}`,
      }
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { path: error.path, parent: error.path, message: `missing required key "${error.path.split('/').pop()}"` }
    case ValueErrorType.Union: {
      const options = (error.schema as { anyOf?: Array<{ const?: string | number | boolean }> }).anyOf
        ?.map((s) => s.const)
        .filter((v) => v !== undefined)
      return {
        path: error.path,
        parent: error.path,
        message: options?.length ? `expected one of: ${options.join(', ')}` : (hint ?? error.message.toLowerCase()),
      }
    }
    case ValueErrorType.StringPattern:
      return { path: error.path, parent: error.path, message: hint ?? error.message.toLowerCase() }
    default:
      return {
        path: error.path,
        parent: error.path,
        message: hint && error.type === ValueErrorType.String ? hint : error.message.toLowerCase(),
      }
  }
}

function sortByPosition(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

function invalid(file: string, problems: Problem[]): GauntletError {
  return new GauntletError(
    'invalid_scenario',
    `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
    { problems, source: file },
  )
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message
}
