import { defaultWorkers, maxWorkers } from '@gauntlet/agent/generator'
import { GauntletError, parseDurationMs } from '@gauntlet/contracts'
import { availableParallelism } from 'node:os'

/** A flag whose value must be an http(s) URL; returns it normalised. */
export function httpUrlFlag(flag: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new GauntletError('usage', `${flag}: "${value}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new GauntletError('usage', `${flag}: "${value}" must be an http(s) URL`)
  return url.toString()
}

/** A flag whose value is a positive duration with a unit ("10s", "1m"), in ms; `fallbackMs` when absent. */
export function durationFlagMs(flag: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs
  const ms = parseDurationMs(text)
  if (ms === undefined || ms <= 0)
    throw new GauntletError('usage', `${flag}: "${text}" is not a duration with a unit, like 10s or 1m`)
  return ms
}

/** `--workers <n>`: load threads, a whole number from 1 to maxWorkers; absent, every core but one. */
export function workersFlag(flag: string, text: string | undefined): number {
  if (text === undefined) return defaultWorkers(availableParallelism())
  const workers = Number(text)
  if (!/^[0-9]+$/.test(text) || workers < 1 || workers > maxWorkers)
    throw new GauntletError('usage', `${flag}: "${text}" is not a number of load threads (1 to ${maxWorkers})`)
  return workers
}

/**
 * `--flag [value]`: a string flag whose value may be left out (node's parser has no such flags). Where
 * `--flag` ends the arguments or another flag follows it, `fallback` is put in as its value.
 */
export function withOptionalValue(argv: readonly string[], flag: string, fallback: string): string[] {
  const out: string[] = []
  argv.forEach((arg, i) => {
    out.push(arg)
    const next = argv[i + 1]
    if (arg === flag && (next === undefined || next.startsWith('-'))) out.push(fallback)
  })
  return out
}

/**
 * `--docker [socket]` (given through withOptionalValue with "" as its fallback): undefined when absent;
 * without a socket, dockerode's defaults (DOCKER_HOST, else /var/run/docker.sock); else an absolute path.
 */
export function dockerFlag(flag: string, value: string | undefined): { socket?: string } | undefined {
  if (value === undefined) return undefined
  if (value === '') return {}
  if (!value.startsWith('/') || value.includes('\0'))
    throw new GauntletError('usage', `${flag}: "${value}" is not the absolute path of a Docker socket`)
  return { socket: value }
}
