import { GauntletError } from '@gauntlet/contracts'
import { parseArgs } from 'node:util'
import type { Output } from './output.js'

/** One flag: what the parser accepts and what `--help` says about it, in one place. */
export interface FlagSpec {
  type: 'string' | 'boolean'
  /** How the value is written in the usage, with its unit: `<url>`, `<duration>`, `<rps>`. */
  value?: string
  /** Given to the parser when the flag is absent (and shown in the help). */
  default?: string
  /** A default applied after parsing, by the code the value goes to: shown in the help only. */
  defaultText?: string
  short?: string
  description: string
}

export interface CommandSpec<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** `run`, `fault`: what follows `gauntlet`. */
  name: string
  /** One line: what the command does. */
  summary: string
  /** The arguments after the command name, e.g. `<scenario.yaml>`; each string is one usage line. */
  synopsis: string[]
  /** Whether positional arguments are accepted at all (the command checks how many). */
  positionals?: boolean
  flags: F
  /** Environment variables the command reads, with what they mean. */
  env?: Record<string, string>
  examples: string[]
  /** Exit code → what it means for this command. */
  exitCodes: Record<number, string>
  /** More to say after the options, one paragraph. */
  notes?: string
}

/** The values parseArgs returns for a command's flags, typed from their specs. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { type: 'boolean' }
    ? boolean | undefined
    : F[K] extends { default: string }
      ? string
      : string | undefined
}

export type ParsedCommand<F extends Record<string, FlagSpec>> =
  { help: true } | { help: false; values: FlagValues<F>; positionals: string[] }

/** `-h, --help` is every command's, never a command's own flag. */
const helpFlag: FlagSpec = { type: 'boolean', short: 'h', description: 'print this help and exit 0' }

/** Defines a command; `flags` keeps its literal type so parsed values are typed from it. */
export function defineCommand<const F extends Record<string, FlagSpec>>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec
}

/**
 * Parses `argv` against the command's flags. `--help` anywhere wins (even next to a wrong flag); any other
 * problem is a GauntletError('usage') naming it and pointing at --help (exit 2, one line).
 */
export function parseCommand<F extends Record<string, FlagSpec>>(
  spec: CommandSpec<F>,
  argv: string[],
): ParsedCommand<F> {
  const loose = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
  })
  if (loose.values.help === true) return { help: true }
  const options = Object.fromEntries(
    Object.entries(spec.flags).map(([name, flag]) => [
      name,
      {
        type: flag.type,
        ...(flag.short ? { short: flag.short } : {}),
        ...(flag.default !== undefined ? { default: flag.default } : {}),
      },
    ]),
  )
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: spec.positionals === true })
    return { help: false, values: values as FlagValues<F>, positionals }
  } catch (error) {
    // node's advice on positionals that start with a dash would bury the flag's name.
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '')
    throw usageError(spec, message)
  }
}

/** A usage problem of `spec`'s command: the message, its synopsis, and where the full help is. */
export function usageError(spec: CommandSpec, message: string): GauntletError {
  return new GauntletError('usage', `${message}\n${usageLines(spec)}\nsee: gauntlet ${spec.name} --help`)
}

function usageLines(spec: CommandSpec): string {
  return spec.synopsis
    .map((line, i) => `${i === 0 ? 'usage: ' : '       '}gauntlet ${spec.name}${line ? ` ${line}` : ''}`)
    .join('\n')
}

/** Prints the command's help on stdout; returns its exit code, 0. */
export function printHelp(spec: CommandSpec, out: Output): number {
  out.stdout(helpText(spec))
  return 0
}

/** `gauntlet <command> --help`: generated from the same spec the parser reads. */
export function helpText(spec: CommandSpec): string {
  const flags = Object.entries({ ...spec.flags, help: helpFlag }).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : '    '}--${name}${flag.value ? ` ${flag.value}` : ''}`
    const fallback = flag.default ?? flag.defaultText
    return [left, `${flag.description}${fallback !== undefined ? ` (default: ${fallback})` : ''}`] as const
  })
  const width = Math.max(...flags.map(([left]) => left.length)) + 2
  const sections = [
    `gauntlet ${spec.name}: ${spec.summary}`,
    usageLines(spec),
    `options:\n${flags.map(([left, text]) => `  ${left.padEnd(width)}${text}`).join('\n')}`,
    ...(spec.notes ? [spec.notes] : []),
    ...(spec.env ? [`environment:\n${table(spec.env)}`] : []),
    `${spec.examples.length > 1 ? 'examples' : 'example'}:\n${spec.examples.map((e) => `  ${e}`).join('\n')}`,
    `exit codes:\n${table(spec.exitCodes)}`,
  ]
  return sections.join('\n\n')
}

function table(rows: Record<string | number, string>): string {
  const width = Math.max(...Object.keys(rows).map((key) => key.length)) + 2
  return Object.entries(rows)
    .map(([key, text]) => `  ${key.padEnd(width)}${text}`)
    .join('\n')
}

/** A whole number of seconds as the CLI's duration flags write it: 86400 → 24h, 60 → 1m, 10 → 10s. */
export function durationText(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`
  if (seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}
