import { ExitCode, GauntletError } from '@gauntlet/contracts'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { localFaultEngine, type FaultEngine } from '@gauntlet/faults'
import { isLoopbackHost } from '@gauntlet/http'
import { AgentClient } from '../agents/agent-client.js'
import { AgentPool, agentModes, type AgentMode } from '../agents/agent-pool.js'
import { AgentRegistry } from '../agents/agent-registry.js'
import { agentHolder, localHolder, type FaultHolder } from '../agents/fault-holders.js'
import { FaultRouter } from '../agents/fault-router.js'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { RemoteAgents } from '../agents/remote-agents.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { WindowIntake } from '../agents/window-intake.js'
import { buildApp } from '../http/app.js'
import { controllerLoggerOptions, logLevelFromEnv } from '../http/audit-log.js'
import { RunAdmission } from '../run/run-admission.js'
import { RunManager } from '../run/run-manager.js'
import { Scheduler } from '../schedule/scheduler.js'
import { assertScenarioEgress, locateProblems, type ScenarioEgressAllow } from '../scenario/egress-check.js'
import { resolveScenarioFiles } from '../scenario/scenario-files.js'
import { closeYamlPool, yamlPool } from '../scenario/yaml-pool.js'
import { parseScenario } from '../scenario/load-scenario.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { defaultLimits, readControllerSettings } from '../config/controller-settings.js'
import { dockerFlag, withOptionalValue, workersFlag } from '../config/flag-values.js'
import { withUsage } from './args.js'
import { defineCommand, durationText, parseCommand, printHelp } from './command-spec.js'
import type { Output } from './output.js'
import { defaultDbFile } from './run-command.js'
import { reportLink } from '../report/report-formats.js'
import { ReportPool } from '../report/report-pool.js'

export const controllerSpec = defineCommand({
  name: 'controller',
  summary: 'the long-running controller: a REST API over runs, scenarios, schedules and agents',
  synopsis: ['[options]'],
  flags: {
    port: { type: 'string', value: '<port>', default: '8080', description: 'port to listen on (0: any free port)' },
    host: {
      type: 'string',
      value: '<address>',
      default: '127.0.0.1',
      description: 'address to listen on (beyond loopback GAUNTLET_TOKEN is required)',
    },
    db: {
      type: 'string',
      value: '<file>',
      defaultText: defaultDbFile,
      description: 'SQLite file of runs and schedules',
    },
    scenarios: {
      type: 'string',
      value: '<dir>',
      description: 'load every *.yaml / *.yml of <dir> as a stored scenario (each validated first)',
    },
    agents: {
      type: 'string',
      value: agentModes.join('|'),
      default: 'auto',
      description: 'where runs go: remote agents, the embedded agent, or remote when any is connected',
    },
    workers: {
      type: 'string',
      value: '<n>',
      defaultText: 'CPU cores - 1, at least 1',
      description:
        "the embedded agent's load threads per run (1 to 64; not with --agents remote): each sends its share of " +
        'the schedule, interleaved so the sends stay evenly spread, and their windows are merged',
    },
    'public-url': {
      type: 'string',
      value: '<url>',
      description:
        'the URL users reach the controller at (its host name is accepted in Host headers; alert hooks link ' +
        'reports under it)',
    },
    'public-read': { type: 'boolean', description: 'let reads (GET) through without the token' },
    docker: {
      type: 'string',
      value: '[<socket>]',
      defaultText: 'off: faults go to agents started with --docker',
      description:
        "also inject faults with this host's Docker engine (root, on the Docker host itself; without <socket>: " +
        'DOCKER_HOST, else /var/run/docker.sock)',
    },
    'max-runs': {
      type: 'string',
      value: '<count>',
      defaultText: String(defaultLimits.maxRuns),
      description: 'runs at the same time',
    },
    'max-run-rps': {
      type: 'string',
      value: '<rps>',
      defaultText: String(defaultLimits.maxRunRps),
      description: "a run's busiest step, in requests per second",
    },
    'max-run-duration': {
      type: 'string',
      value: '<duration>',
      defaultText: durationText(defaultLimits.maxRunDurationS),
      description: "a run's planned length",
    },
    'max-schedules': {
      type: 'string',
      value: '<count>',
      defaultText: String(defaultLimits.maxSchedules),
      description: 'stored schedules',
    },
    'min-schedule-interval': {
      type: 'string',
      value: '<duration>',
      defaultText: durationText(defaultLimits.minScheduleIntervalS),
      description: 'shortest time between two fires of a schedule',
    },
    'max-agents': {
      type: 'string',
      value: '<count>',
      defaultText: String(defaultLimits.maxAgents),
      description: 'registered agents',
    },
    'max-streams': {
      type: 'string',
      value: '<count>',
      defaultText: String(defaultLimits.maxStreams),
      description: 'open event streams (GET /api/runs/:id/events)',
    },
    'hook-grace': {
      type: 'string',
      value: '<duration>',
      defaultText: durationText(defaultLimits.hookGraceMs / 1000),
      description: 'how long onRollback and postRun hooks may still take once a run is stopped',
    },
    'files-dir': {
      type: 'string',
      value: '<dir>',
      description: 'the only directory scenario file paths (target.tls ca/cert/key) may point into; without it, none',
    },
  },
  env: {
    GAUNTLET_TOKEN: 'bearer token every /api route requires (see docs/security.md)',
    GAUNTLET_AGENT_SECRET: 'key remote agents sign requests with (without it, the embedded agent only)',
    GAUNTLET_ALLOWED_HOSTS: 'more host names accepted in Host headers, comma-separated',
    GAUNTLET_TARGET_ALLOW: 'hosts runs may load (default: loopback)',
    GAUNTLET_HOOK_ALLOW: 'hosts hooks may call (default: loopback)',
    GAUNTLET_AGENT_ALLOW: 'addresses agents may register with (default: loopback)',
    GAUNTLET_FILES_DIR: 'as --files-dir',
  },
  examples: [
    'gauntlet controller --port 8080 --scenarios ./scenarios',
    'GAUNTLET_TOKEN=... GAUNTLET_AGENT_SECRET=... gauntlet controller --host 0.0.0.0 --agents remote',
  ],
  notes:
    'Faults go to the agents started with --docker whose Docker engine holds the target: the controller needs no ' +
    'Docker access. A run whose fault no agent can reach is refused (409) before any load.',
  exitCodes: {
    [ExitCode.passed]: 'stopped by SIGINT or SIGTERM (running runs judged, faults reverted)',
    [ExitCode.invalidInput]: 'usage, or an invalid scenario in --scenarios',
    [ExitCode.couldNotRun]: 'could not start (the port is taken, the database cannot be opened)',
  },
})

/**
 * The long-running controller: REST API over runs, scenarios, schedules and agents. Runs go to the
 * remote agents that heartbeat, or to the embedded agent (--agents).
 */
export async function controllerCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(controllerSpec, withOptionalValue(argv, '--docker', ''))
  if (parsed.help) return printHelp(controllerSpec, out)
  const { values } = parsed
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new GauntletError('usage', `--port: "${values.port}" is not a port number`)
  const mode = values.agents as AgentMode
  if (!agentModes.includes(mode))
    throw new GauntletError('usage', `--agents: "${values.agents}" is not one of ${agentModes.join(', ')}`)
  // Remote agents run their own threads (gauntlet agent --workers); the embedded agent runs these.
  if (mode === 'remote' && values.workers !== undefined)
    throw new GauntletError(
      'usage',
      '--workers applies to the embedded agent; with --agents remote, start each agent with --workers',
    )
  const workers = workersFlag('--workers', values.workers)
  const settings = withUsage(controllerSpec, () => readControllerSettings(values, process.env))
  const { token, agentSecret } = settings
  if (!isLoopbackHost(values.host) && !token) {
    throw new GauntletError(
      'usage',
      `refusing to listen on ${values.host} without GAUNTLET_TOKEN: anyone who can reach it could start load`,
    )
  }
  // Agents must sign every request with the shared secret; without one no agent can authenticate.
  if (mode === 'remote' && !agentSecret) {
    throw new GauntletError(
      'usage',
      '--agents remote needs GAUNTLET_AGENT_SECRET: agents and controller sign every request with it',
    )
  }
  const docker = dockerFlag('--docker', values.docker)
  const logLevel = withUsage(controllerSpec, () => logLevelFromEnv())
  // Scenario files are validated before anything is stored or served.
  const files = values.scenarios ? await readScenarioDir(values.scenarios, settings) : []

  const store = new SqliteStore(values.db ?? defaultDbFile)
  let scheduler: Scheduler | undefined
  let agents: AgentRegistry | undefined
  let reports: ReportPool | undefined
  let intake: WindowIntake | undefined
  let localFaults: FaultEngine | undefined
  try {
    const interrupted = store.interruptRunning()
    if (interrupted > 0) out.stdout(`marked ${interrupted} run(s) left running by a previous controller as interrupted`)
    for (const file of files)
      store.putScenario({ name: file.name, yaml: file.yaml, updatedAt: new Date().toISOString() })
    const clock = { now: () => new Date() }
    agents = new AgentRegistry(Date.now, store, {
      maxAgents: settings.limits.maxAgents,
      expireAfterMs: settings.limits.agentExpiryS * 1000,
    })
    agents.startSweeping()
    if (!agentSecret && mode === 'auto')
      out.stdout(
        'no GAUNTLET_AGENT_SECRET: runs go to the embedded agent only, and the agent routes refuse every request',
      )
    const remote = agentSecret
      ? new RemoteAgents(
          agents,
          new AgentClient(agentSecret, settings.agentAllow),
          (intake = new WindowIntake(store, store.file)),
          Date.now,
          Math.min(8_000, settings.limits.hookGraceMs),
        )
      : undefined
    // --docker only: this host's engine holds faults too; leftovers of a crashed controller are reverted first.
    if (docker) {
      localFaults = localFaultEngine({
        ...(docker.socket ? { dockerSocket: docker.socket } : {}),
        log: (line: string) => out.stdout(line),
      })
      await localFaults
        .recover()
        .catch((error: Error) => out.stdout(`faults unavailable until a Docker engine answers: ${error.message}`))
    }
    const faults = faultRouter(
      agents,
      agentSecret ? new AgentClient(agentSecret, settings.agentAllow) : undefined,
      localFaults,
    )
    const { publicUrl } = settings
    // Reports and alerts' root causes decode every second of a run: on a thread of their own.
    reports = new ReportPool(store.file, publicUrl)
    const runs = new RunManager(
      {
        store,
        agent: new AgentPool(new InProcessAgent(workers), remote, mode),
        probe: tcpTargetProbe(settings.targetAllow),
        clock,
        faults,
        targetAllow: settings.targetAllow,
        hooks: { allow: settings.hookAllow, graceMs: settings.limits.hookGraceMs },
        ...(publicUrl ? { reportUrl: (id: string) => reportLink(publicUrl, id) } : {}),
        rootCause: (input) => reports!.rootCause(input),
      },
      new RunAdmission(settings, undefined, (yaml, problems) => yamlPool().locate(yaml, problems)),
    )
    scheduler = new Scheduler({ store, runs, clock, limits: settings.limits })
    const app = buildApp({
      store,
      reports,
      runs,
      scheduler,
      settings,
      agents,
      faults,
      logger: controllerLoggerOptions(logLevel),
    })
    const address = await app.listen({ port, host: values.host })
    // Only now is the port known (--port 0): runs targeting the controller itself are refused.
    runs.setListenAddresses(app.addresses())
    // After listen, so that its catch-up fires are admitted knowing the controller's own address.
    await scheduler.start()
    out.stdout(
      `listening ${address} (${files.length} scenario file(s) loaded` +
        (token ? (settings.publicRead ? ', token required for changes, reads public' : ', token required') : '') +
        ')',
    )
    if (!isLoopbackHost(values.host)) out.stdout(hostNamesLine(settings.allowedHosts))
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])
    out.stdout('stopping: aborting runs in progress and storing their summaries')
    // The hard bound: whatever still holds the process (a hijacked stream, a hanging socket), it ends
    // grace + 2 s after the signal. SQLite writes are synchronous, so none is cut in half.
    const deadline = setTimeout(() => {
      out.stdout('stopping: the hook grace is over; exiting')
      store.close()
      process.exit(0)
    }, settings.limits.hookGraceMs + 1_800)
    deadline.unref()
    // Bounded: a stopped run's onRollback/postRun hooks get the hook grace in all, then it is stored.
    if (!(await settlesWithin(runs.close(), settings.limits.hookGraceMs + 1000))) {
      out.stdout('stopping: a run did not finish within the hook grace; the next start marks it interrupted')
    }
    await localFaults?.revertAll('controller stopping')
    await localFaults?.stop?.()
    await app.close()
    return 0
  } finally {
    scheduler?.stop()
    agents?.stop()
    store.close()
    await closeYamlPool()
    await reports?.close()
    await intake?.close()
  }
}

/**
 * Faults go to holders in this order: the controller's own engine (--docker), then the fault-capable
 * agents that heartbeat, by name. Each agent's heartbeat reply names the runs that want its faults.
 */
function faultRouter(
  agents: AgentRegistry,
  client: AgentClient | undefined,
  local: FaultEngine | undefined,
): FaultRouter {
  const own = local ? [localHolder(local)] : []
  const holders = (live: boolean): FaultHolder[] => [
    ...own,
    ...(client
      ? (live ? agents.available() : agents.list()).filter((a) => a.faults).map((a) => agentHolder(a, client))
      : []),
  ]
  const noHolder = (): string => {
    if (!client) return 'no GAUNTLET_AGENT_SECRET, so no agent can connect (or start the controller with --docker)'
    const connected = agents.available().length
    return `no agent started with --docker is connected (${connected} agent(s) connected without it)`
  }
  const router = new FaultRouter(holders, noHolder)
  agents.reportFaultRuns((name) => router.faultRunsOf(name))
  return router
}

/** Beyond loopback, which names the controller answers to (browsers' DNS rebinding is refused by the Host check). */
function hostNamesLine(names: readonly string[]): string {
  const accepted =
    names.length > 0
      ? `Host names accepted: ${names.join(', ')} (and IP addresses, localhost)`
      : 'Host names accepted: none, only IP addresses and localhost'
  return `${accepted}; add names with --public-url or GAUNTLET_ALLOWED_HOSTS`
}

/** Whether `work` settled within `ms` (it goes on either way). */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([work.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function readScenarioDir(
  dir: string,
  allow: ScenarioEgressAllow & { filesDir?: string },
): Promise<Array<{ name: string; yaml: string }>> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()
  } catch (error) {
    throw new GauntletError('usage', `--scenarios: cannot read ${dir}: ${(error as Error).message}`)
  }
  const loaded: Array<{ name: string; yaml: string }> = []
  for (const name of names) {
    const file = join(dir, name)
    const yaml = await readFile(file, 'utf8')
    const scenario = parseScenario(yaml, file)
    assertScenarioEgress(scenario, allow, { yaml, file })
    // Stored, it runs on this controller: its file paths must be readable under --files-dir, as at PUT.
    await resolveScenarioFiles(scenario, { filesDir: allow.filesDir }, file, (problems) =>
      locateProblems(problems, yaml),
    )
    loaded.push({ name: scenario.name, yaml })
  }
  return loaded
}
