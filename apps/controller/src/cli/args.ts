import { GauntletError } from '@gauntlet/contracts'
import { parseDurationMs } from '../scenario/duration.js'
import { usageError, type CommandSpec } from './command-spec.js'

/** Runs `read` (of flags or environment) and turns its errors into a usage problem of `spec`'s command: exit 2. */
export function withUsage<T>(spec: CommandSpec, read: () => T): T {
  try {
    return read()
  } catch (error) {
    throw usageError(spec, (error as Error).message.split('\n')[0]!)
  }
}

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
