import { GauntletError } from '@gauntlet/contracts'
import { isLoopbackHost, normalizeHost, parseAllowList, type AllowList } from '@gauntlet/http'
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { durationFlagMs, httpUrlFlag } from './flag-values.js'

/** The caps on what callers can make the controller hold or do. Each has a flag (README, docs/security.md). */
export interface ControllerLimits {
  /** Runs in progress at once (--max-runs); beyond it 429. */
  maxRuns: number
  /** The busiest step's planned rate of one run (--max-run-rps). */
  maxRunRps: number
  /** One run's planned duration in seconds (--max-run-duration). */
  maxRunDurationS: number
  /** Stored schedules (--max-schedules). */
  maxSchedules: number
  /** The shortest gap between two fires of one schedule, in seconds (--min-schedule-interval). */
  minScheduleIntervalS: number
  /** Remote agents known at once (--max-agents). */
  maxAgents: number
  /** A lost agent is forgotten after this many seconds. */
  agentExpiryS: number
  /** Open event streams in all (--max-streams). */
  maxStreams: number
  /** After an abort or SIGTERM, how long onRollback and postRun hooks may still take, in all (--hook-grace). */
  hookGraceMs: number
}

export const defaultLimits: ControllerLimits = {
  maxRuns: 4,
  maxRunRps: 50_000,
  maxRunDurationS: 86_400,
  maxSchedules: 100,
  minScheduleIntervalS: 60,
  maxAgents: 1000,
  agentExpiryS: 86_400,
  maxStreams: 100,
  hookGraceMs: 10_000,
}

/** Everything the controller's security depends on, read once at start from flags and environment. */
export interface ControllerSettings {
  /** GAUNTLET_TOKEN: every /api route needs it (reads too, unless publicRead). */
  token?: string
  /** GAUNTLET_AGENT_SECRET: the key agents and controller sign their requests with. */
  agentSecret?: string
  /** --public-read: /api reads need no token. */
  publicRead: boolean
  /** The controller's URL as its users reach it (--public-url), used in links and as an allowed Host. */
  publicUrl?: string
  /**
   * Host names a request's Host header may carry (--public-url, GAUNTLET_ALLOWED_HOSTS, and --host's loopback names).
   */
  allowedHosts: string[]
  /** GAUNTLET_TARGET_ALLOW: hosts runs may load. */
  targetAllow: AllowList
  /** GAUNTLET_HOOK_ALLOW: hosts hooks may call (default loopback). */
  hookAllow: AllowList
  /** GAUNTLET_AGENT_ALLOW: hosts agents may advertise as their address (default loopback). */
  agentAllow: AllowList
  /** --files-dir / GAUNTLET_FILES_DIR: the only directory scenario file paths may point into (none without it). */
  filesDir?: string
  limits: ControllerLimits
}

/** The flags of `gauntlet controller` that settings are read from (strings as parseArgs gives them). */
interface SettingsFlags {
  host: string
  'public-url'?: string | undefined
  'public-read'?: boolean | undefined
  'max-runs'?: string | undefined
  'max-run-rps'?: string | undefined
  'max-run-duration'?: string | undefined
  'max-schedules'?: string | undefined
  'min-schedule-interval'?: string | undefined
  'max-agents'?: string | undefined
  'max-streams'?: string | undefined
  'hook-grace'?: string | undefined
  'files-dir'?: string | undefined
}

export function readControllerSettings(flags: SettingsFlags, env: NodeJS.ProcessEnv): ControllerSettings {
  const publicUrl = flags['public-url'] === undefined ? undefined : httpUrlFlag('--public-url', flags['public-url'])
  const allowedHosts = new Set<string>()
  if (publicUrl) allowedHosts.add(normalizeHost(new URL(publicUrl).hostname))
  for (const name of (env.GAUNTLET_ALLOWED_HOSTS ?? '').split(','))
    if (name.trim()) allowedHosts.add(normalizeHost(name.trim()))
  // Listening on loopback, the loopback names are the controller's own; a wildcard listen names nothing.
  if (isLoopbackHost(normalizeHost(flags.host)))
    for (const name of ['127.0.0.1', 'localhost', '::1']) allowedHosts.add(name)
  else if (!['0.0.0.0', '::'].includes(normalizeHost(flags.host))) allowedHosts.add(normalizeHost(flags.host))
  return {
    ...(env.GAUNTLET_TOKEN ? { token: env.GAUNTLET_TOKEN } : {}),
    ...(env.GAUNTLET_AGENT_SECRET ? { agentSecret: env.GAUNTLET_AGENT_SECRET } : {}),
    publicRead: flags['public-read'] === true,
    ...(publicUrl ? { publicUrl } : {}),
    allowedHosts: [...allowedHosts],
    targetAllow: parseAllowList(env.GAUNTLET_TARGET_ALLOW, 'GAUNTLET_TARGET_ALLOW'),
    hookAllow: parseAllowList(env.GAUNTLET_HOOK_ALLOW, 'GAUNTLET_HOOK_ALLOW'),
    agentAllow: parseAllowList(env.GAUNTLET_AGENT_ALLOW, 'GAUNTLET_AGENT_ALLOW'),
    ...filesDirSetting(flags['files-dir'] ?? env.GAUNTLET_FILES_DIR),
    limits: {
      maxRuns: count('--max-runs', flags['max-runs'], defaultLimits.maxRuns),
      maxRunRps: count('--max-run-rps', flags['max-run-rps'], defaultLimits.maxRunRps),
      maxRunDurationS:
        durationFlagMs('--max-run-duration', flags['max-run-duration'], defaultLimits.maxRunDurationS * 1000) / 1000,
      maxSchedules: count('--max-schedules', flags['max-schedules'], defaultLimits.maxSchedules),
      minScheduleIntervalS:
        durationFlagMs(
          '--min-schedule-interval',
          flags['min-schedule-interval'],
          defaultLimits.minScheduleIntervalS * 1000,
        ) / 1000,
      maxAgents: count('--max-agents', flags['max-agents'], defaultLimits.maxAgents),
      agentExpiryS: defaultLimits.agentExpiryS,
      maxStreams: count('--max-streams', flags['max-streams'], defaultLimits.maxStreams),
      hookGraceMs: durationFlagMs('--hook-grace', flags['hook-grace'], defaultLimits.hookGraceMs),
    },
  }
}

function count(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1)
    throw new GauntletError('usage', `${flag}: "${text}" is not a whole number of at least 1`)
  return value
}

/** An absolute directory that exists (checked at start, so a typo is said at once, not at the first run). */
function filesDirSetting(dir: string | undefined): { filesDir?: string } {
  if (dir === undefined || dir === '') return {}
  const absolute = resolve(dir)
  let ok = false
  try {
    ok = statSync(absolute).isDirectory()
  } catch {
    ok = false
  }
  if (!ok) throw new GauntletError('usage', `--files-dir: ${dir} is not a directory`)
  return { filesDir: absolute }
}
