import { GauntletError, type Problem } from '@gauntlet/contracts'
import { assertTargetAllowed } from '@gauntlet/agent/generator'
import { deniedAddress, normalizeHost, type AllowList } from '@gauntlet/http'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { ControllerLimits } from '../config/controller-settings.js'
import {
  assertScenarioEgress,
  assertScenarioEgressLocated,
  locateProblems,
  type LocateProblems,
} from '../scenario/egress-check.js'
import type { Scenario } from '../scenario/scenario.js'
import { controllerEnv, fileSources, withRunInputs } from '../scenario/run-inputs.js'
import { resolveScenarioFiles } from '../scenario/scenario-files.js'
import { yamlPool } from '../scenario/yaml-pool.js'

/** What admission checks a run against (ControllerSettings gives all of it). */
export interface AdmissionSettings {
  /** GAUNTLET_TARGET_ALLOW: the target, and targetMetrics.url. */
  targetAllow: AllowList
  /** GAUNTLET_HOOK_ALLOW. */
  hookAllow: AllowList
  limits: Pick<ControllerLimits, 'maxRuns' | 'maxRunRps' | 'maxRunDurationS'>
  /** --files-dir: where scenario file paths (target.tls, data sets, body files) may point; absent, a path is refused. */
  filesDir?: string
  /** Where `${env.GAUNTLET_SECRET_*}` values come from (default: the process's environment). */
  env?: NodeJS.ProcessEnv
}

/** An address the controller listens on, as server.address() gives it. */
export interface ListenAddress {
  address: string
  port: number
}

/** Resolves a host name to its addresses; an unresolvable name gives none. */
export type ResolveHost = (host: string) => Promise<string[]>

const resolveHost: ResolveHost = async (host) => {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)
  } catch {
    return [] // the run's own probe reports an unresolvable target
  }
}

/**
 * The one gate every run passes, whatever started it (REST, a schedule): before the run is stored and
 * before any connection to its target. Refuses, as GauntletError:
 *   target_not_allowed  the target host is not on GAUNTLET_TARGET_ALLOW, or its name resolves to
 *                       addresses the list does not allow a name to lead to (loopback, link-local)
 *   forbidden           a hook or targetMetrics URL outside its allow-list, or the target is the
 *                       controller itself (a run could start runs: self-replicating load)
 *   usage               the busiest step or the whole run plans more than --max-run-rps / --max-run-duration
 *   too_many            --max-runs runs are already in progress (checked by RunManager with its count)
 */
export class RunAdmission {
  private listening: ListenAddress[] = []

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly resolve: ResolveHost = resolveHost,
    /** Locates refused URLs in the YAML; the controller does it on a YAML thread (a big document takes seconds). */
    private readonly locate: LocateProblems = (yaml, problems) => Promise.resolve(locateProblems(problems, yaml)),
  ) {}

  /**
   * The scenario with the files it names read (target.tls PEM), only from under --files-dir; a path
   * without it, a missing file or a PEM that does not parse is refused (invalid_scenario) before the run is stored.
   */
  async readFiles(scenario: Scenario, source: { yaml: string; file: string }): Promise<Scenario> {
    const locate = (problems: Problem[]): Promise<Problem[]> => this.locate(source.yaml, problems)
    const root = { filesDir: this.settings.filesDir }
    const withTls = await resolveScenarioFiles(scenario, root, source.file, locate)
    // What the requests send: env values (GAUNTLET_SECRET_* only), data sets and body files.
    return withRunInputs(
      withTls,
      {
        ...fileSources(root, controllerEnv(this.settings.env ?? process.env)),
        // Megabytes of CSV take the parser hundreds of milliseconds: on a thread, not the event loop.
        parseData: (text, format) => yamlPool().parseData(text, format),
      },
      source.file,
      locate,
    )
  }

  /** Known once the server listens; until then no run can target it. */
  setListenAddresses(addresses: ReadonlyArray<ListenAddress | string>): void {
    // A string is a pipe or socket path: no TCP target reaches it.
    this.listening = addresses.filter((address): address is ListenAddress => typeof address !== 'string')
  }

  /** Everything about the scenario itself; throws the first refusal. `source` locates problems in its YAML. */
  async check(scenario: Scenario, source?: { yaml: string; file: string }): Promise<void> {
    const { targetAllow } = this.settings
    assertTargetAllowed(scenario.target.url, targetAllow)
    if (source) await assertScenarioEgressLocated(scenario, this.settings, source, this.locate)
    else assertScenarioEgress(scenario, this.settings)
    this.assertPlannedLoad(scenario)
    const target = new URL(scenario.target.url)
    const host = normalizeHost(target.hostname)
    // A name that does not resolve is left to the run's probe, which reports it unreachable.
    const addresses = (isIP(host) !== 0 ? [host] : await this.resolve(host)).map(plainAddress)
    const denied = addresses.length > 0 ? deniedAddress(host, addresses, targetAllow) : undefined
    if (denied !== undefined) {
      throw new GauntletError(
        'target_not_allowed',
        `target host ${host} resolves to ${denied}, which GAUNTLET_TARGET_ALLOW (${targetAllow.source}) does ` +
          `not allow for a name`,
      )
    }
    if (this.targetsController(target, addresses)) {
      throw new GauntletError(
        'forbidden',
        `target ${scenario.target.url} is this controller's own address; a run may not load the controller`,
      )
    }
  }

  /** The concurrency cap, given how many runs are in progress or starting. */
  assertRoom(inProgress: number): void {
    const { maxRuns } = this.settings.limits
    if (inProgress >= maxRuns) {
      throw new GauntletError(
        'too_many',
        `${inProgress} runs are in progress, the most this controller runs at once (--max-runs ${maxRuns}); ` +
          `retry when one ends`,
      )
    }
  }

  private assertPlannedLoad(scenario: Scenario): void {
    const { maxRunRps, maxRunDurationS } = this.settings.limits
    const busiest = Math.max(0, ...scenario.steps.map((step) => step.rps))
    if (busiest > maxRunRps) {
      const message = `the busiest step plans ${busiest} rps; a run may plan at most ${maxRunRps} rps (--max-run-rps)`
      throw new GauntletError('usage', `load: ${message}`, { problems: [{ path: '/load', message }] })
    }
    const durationS = scenario.steps.reduce((sum, step) => sum + step.durationS, 0)
    if (durationS > maxRunDurationS) {
      const message =
        `the steps last ${durationS}s in all; ` + `a run may last at most ${maxRunDurationS}s (--max-run-duration)`
      throw new GauntletError('usage', `load: ${message}`, { problems: [{ path: '/load', message }] })
    }
  }

  /** Whether the target's port and (resolved) addresses reach a socket this controller listens on. */
  private targetsController(target: URL, addresses: readonly string[]): boolean {
    const port = target.port ? Number(target.port) : target.protocol === 'https:' ? 443 : 80
    const sockets = this.listening.filter((socket) => socket.port === port)
    return addresses.some((address) => sockets.some((socket) => reaches(address, plainAddress(socket.address))))
  }
}

/** Whether connecting to `target` lands on a socket bound to `bound`. */
function reaches(target: string, bound: string): boolean {
  // 0.0.0.0 and :: as a destination mean this host; as a bound address, every address of this host.
  if (isUnspecified(target)) return true
  if (isUnspecified(bound)) return isLocalAddress(target)
  return target === bound
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::'
}

function isLocalAddress(address: string): boolean {
  if (address === '::1' || /^127\./.test(address)) return true
  return Object.values(networkInterfaces()).some((list) =>
    list?.some((entry) => plainAddress(entry.address) === address),
  )
}

/** Lower case, no zone id, and an IPv4-mapped IPv6 address (either way of writing it) as the IPv4 address it is. */
function plainAddress(address: string): string {
  return normalizeHost(address.replace(/%.*$/, ''))
}
