import {
  dataColumns,
  envReferences,
  GauntletError,
  parseTemplate,
  substituteEnv,
  type Problem,
  type TemplatePart,
} from '@gauntlet/contracts'
import { formatOf, parseDataFile, unsafeForHeader, type DataFileParse, type DataFormat } from './data-file.js'
import { readScenarioText, type FileRoot } from './scenario-files.js'
import type { DataSetRows, RequestPlan, RunInputs, Scenario } from './scenario.js'

export type { DataSetRows, RunInputs } from './scenario.js'

/** Where a run's environment and files come from: the CLI's own, or the controller's, within its rules. */
export interface InputSources {
  /** A variable's value; a GauntletError (naming why) when the name may not be read here. */
  env(name: string): string | undefined
  /** A file the scenario names (`field` is its JSON pointer, for messages): its text, or a GauntletError. */
  readText(file: string, field: string): Promise<string>
  /** Parses a data file's text (a controller does it on a worker thread: megabytes take a while). */
  parseData?(text: string, format: DataFormat): Promise<DataFileParse>
}

/** Data sets and body files of one run, in all: what one run start may read, parse and send to agents. */
export const maxRunInputBytes = 32 * 1024 * 1024

/** A file holding a private key is never data nor a body: it could be sent to any allowed target. */
const privateKey = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/

/** Messages from parsing a file quote at most this much of it. */
const maxQuotedChars = 200

/**
 * Reads what a run's requests need, once, at its start: every problem at once, each naming its field, as
 * a GauntletError('invalid_scenario') (exit 2, 400) before anything is stored or sent (`source` names the
 * scenario, `locate` adds line:column). A missing variable is named: the sources only give names their
 * caller may read (the controller's: GAUNTLET_REQUEST_* only).
 */
export async function resolveRunInputs(
  scenario: Scenario,
  sources: InputSources,
  source = `scenario ${scenario.name}`,
  locate: (problems: Problem[]) => Promise<Problem[]> | Problem[] = (problems) => problems,
): Promise<RunInputs> {
  const problems: Problem[] = []
  const secrets = new Set<string>()
  const fail = (path: string, message: string): void =>
    void problems.push({
      path,
      message: message.length > maxQuotedChars ? `${message.slice(0, maxQuotedChars)}…` : message,
    })
  let budget = maxRunInputBytes
  /** A file's text, counted against the run's budget and refused when it holds a private key. */
  const readInput = async (file: string, field: string): Promise<string | undefined> => {
    const text = await read(sources, file, field, fail)
    if (text === undefined) return undefined
    budget -= Buffer.byteLength(text)
    if (budget < 0) {
      fail(field, `the run's data sets and body files come to more than ${maxRunInputBytes / 1024 / 1024} MiB`)
      return undefined
    }
    if (privateKey.test(text)) {
      fail(field, `"${file}" holds a private key: it is never sent as data or a body`)
      return undefined
    }
    return text
  }

  const data: Record<string, DataSetRows> = {}
  for (const [name, set] of Object.entries(scenario.data)) {
    const field = `/data/${name}/file`
    const format = formatOf(set.file)
    if (!format) {
      fail(field, `"${set.file}" is neither .csv nor .jsonl/.ndjson`)
      continue
    }
    const text = await readInput(set.file, field)
    if (text === undefined) continue
    const parsed = sources.parseData ? await sources.parseData(text, format) : parseDataFile(text, format)
    if (!parsed.ok) fail(field, `${set.file}: ${parsed.message}`)
    else data[name] = { columns: parsed.columns, rows: parsed.rows, order: set.order }
  }

  const requests: RequestPlan[] = []
  for (const [i, request] of scenario.requests.entries()) {
    const base = scenario.requests.length === 1 && request.name === 'default' ? '/target' : `/requests/${i}`
    const resolve = (value: string, field: string, place: 'path' | 'header' | 'body'): string => {
      const scan = envReferences(value)
      // Checked when the scenario loaded; a stored scenario written before that is refused here.
      if (!scan.ok) {
        fail(field, scan.message)
        return value
      }
      const resolved = substituteEnv(value, scan.references, (name) => {
        const found = envValue(sources, name, field, place, fail)
        if (found !== undefined) secrets.add(found)
        // A value is data, not a template: its "{{" stays literal for the agent's parser.
        return (found ?? '').replaceAll('{{', '{{{{')
      })
      const parsed = parseTemplate(resolved)
      if (!parsed.ok) {
        // A body file is read here first; a value can also open or close a template with its neighbour.
        fail(field, scan.references.length > 0 ? envTemplateProblem(value) : parsed.message)
        return resolved
      }
      if (scan.references.length > 0 && !sameExpressions(value, parsed.parts)) {
        fail(field, envTemplateProblem(value))
        return resolved
      }
      for (const { set, column } of dataColumns(parsed.parts)) {
        const rows = data[set]
        if (!rows) {
          if (!(set in scenario.data))
            fail(field, `{{ data.${set}.* }} reads a data set that is not defined under data:`)
          continue
        }
        if (!rows.columns.includes(column))
          fail(field, `data set ${set} has no column "${column}" (its columns: ${rows.columns.join(', ')})`)
        else if (place === 'header') {
          const row = unsafeForHeader(rows.columns, rows.rows, column)
          if (row !== undefined)
            fail(field, `data set ${set}, row ${row}: column "${column}" holds a line break, which a header cannot`)
        }
      }
      return resolved
    }
    const pathField = base === '/target' ? '/target/url' : `${base}/path`
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers))
      headers[name] = resolve(value, headerField(base, name), 'header')
    let body = request.body
    if (request.bodyFile !== undefined) body = await readInput(request.bodyFile, `${base}/bodyFile`)
    const resolved: RequestPlan = { ...request }
    delete resolved.bodyFile
    requests.push({
      ...resolved,
      path: resolve(request.path, pathField, 'path'),
      headers,
      ...(body !== undefined
        ? { body: resolve(body, `${base}/${request.bodyFile ? 'bodyFile' : 'body'}`, 'body') }
        : {}),
    })
  }
  if (problems.length > 0)
    throw new GauntletError(
      'invalid_scenario',
      `${source}: the run cannot start: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { problems: await locate(problems), source },
    )
  return { requests, data, secrets: [...secrets] }
}

/** The scenario with its run inputs resolved (what the agents send): see resolveRunInputs. */
export async function withRunInputs(
  scenario: Scenario,
  sources: InputSources,
  source?: string,
  locate?: (problems: Problem[]) => Promise<Problem[]> | Problem[],
): Promise<Scenario> {
  return { ...scenario, inputs: await resolveRunInputs(scenario, sources, source, locate) }
}

/** The largest data set or body file read for a run. */
export const maxInputFileBytes = 16 * 1024 * 1024

/** Files from where `root` allows, env from `env` (any name: the CLI's own environment). */
export function fileSources(root: FileRoot, env: InputSources['env']): InputSources {
  return {
    env,
    readText: (file) => readScenarioText(file, root, maxInputFileBytes),
  }
}

async function read(
  sources: InputSources,
  file: string,
  field: string,
  fail: (path: string, message: string) => void,
): Promise<string | undefined> {
  try {
    return await sources.readText(file, field)
  } catch (error) {
    fail(field, error instanceof Error ? error.message : `cannot read ${file}`)
    return undefined
  }
}

/** A variable's value, checked for where it goes: no line break in a header, no space or control in a path. */
function envValue(
  sources: InputSources,
  name: string,
  field: string,
  place: 'path' | 'header' | 'body',
  fail: (path: string, message: string) => void,
): string | undefined {
  let value: string | undefined
  try {
    value = sources.env(name)
  } catch (error) {
    fail(field, error instanceof Error ? error.message : String(error))
    return undefined
  }
  if (value === undefined) {
    fail(field, `\${env.${name}}: the variable ${name} is not set (it is never sent literally)`)
    return undefined
  }
  if (place === 'header' && /[\r\n\0]/.test(value)) fail(field, `\${env.${name}}: its value holds a line break`)
  if (place === 'path' && hasSpaceOrControl(value))
    fail(field, `\${env.${name}}: its value holds spaces or control characters, which a path cannot`)
  return value
}

/**
 * Whether the template expressions of `resolved` are those written in `written` (env references read as
 * text): a value must not open, close or add an expression with what is written around it.
 */
function sameExpressions(written: string, resolved: readonly TemplatePart[]): boolean {
  const before = parseTemplate(written)
  if (!before.ok) return false
  const expressions = (parts: readonly TemplatePart[]): string => JSON.stringify(parts.filter((p) => p.kind !== 'text'))
  return expressions(before.parts) === expressions(resolved)
}

/** Says which references are at fault, never their values. */
function envTemplateProblem(value: string): string {
  const scan = envReferences(value)
  const names = scan.ok ? scan.references.map((r) => `\${env.${r.name}}`).join(', ') : 'an environment value'
  return `the value of ${names} would change the templates around it ({{ }}): keep braces out of it, or apart`
}

function hasSpaceOrControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) <= 0x20 || value.charCodeAt(i) === 0x7f) return true
  return false
}

function headerField(base: string, name: string): string {
  return `${base}/headers/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`
}

/**
 * The controller's environment rule: `${env.NAME}` reads only variables named GAUNTLET_REQUEST_*. Anyone
 * who can start runs can send such a value to a target they choose (among those allowed), or test guesses
 * against it with checks: so these are kept apart from the hooks' signing keys (GAUNTLET_SECRET_*) and the
 * controller's own secrets, which a run can never read.
 */
export const controllerEnvPrefix = 'GAUNTLET_REQUEST_'

/** Environment sources for the controller (REST, stored scenarios, schedules). */
export function controllerEnv(env: NodeJS.ProcessEnv): InputSources['env'] {
  return (name) => {
    if (!name.startsWith(controllerEnvPrefix))
      throw new GauntletError(
        'usage',
        `\${env.${name}}: the controller gives runs only variables named ${controllerEnvPrefix}* ` +
          `(set ${controllerEnvPrefix}${name} on the controller and write \${env.${controllerEnvPrefix}${name}})`,
      )
    return env[name]
  }
}
