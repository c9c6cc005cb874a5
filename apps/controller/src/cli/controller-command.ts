import { GauntletError } from '@gauntlet/contracts'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { localFaultEngine, type FaultEngine } from '@gauntlet/agent'
import { isLoopbackHost } from '@gauntlet/http'
import { AgentClient } from '../agents/agent-client.js'
import { AgentPool, agentModes, type AgentMode } from '../agents/agent-pool.js'
import { AgentRegistry } from '../agents/agent-registry.js'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { RemoteAgents } from '../agents/remote-agents.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { buildApp } from '../http/app.js'
import { controllerLoggerOptions, logLevelFromEnv } from '../http/audit-log.js'
import { RunAdmission } from '../run/run-admission.js'
import { RunManager } from '../run/run-manager.js'
import { Scheduler } from '../schedule/scheduler.js'
import { assertScenarioEgress, type ScenarioEgressAllow } from '../scenario/egress-check.js'
import { closeYamlPool, yamlPool } from '../scenario/yaml-pool.js'
import { parseScenario } from '../scenario/load-scenario.js'
import { AgentWindowCommits } from '../storage/group-commit.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { readControllerSettings, settingsUsage } from '../config/controller-settings.js'
import { withUsage } from './args.js'
import type { Output } from './output.js'
import { defaultDbFile } from './run-command.js'

const usage = `gauntlet controller [--port 8080] [--host 127.0.0.1] [--db <file>] [--scenarios <dir>] [--agents auto|remote|local] ${settingsUsage}`

/**
 * The long-running controller: REST API over runs, scenarios, schedules and agents. Runs go to the
 * remote agents that heartbeat, or to the embedded agent (--agents).
 */
export async function controllerCommand(argv: string[], out: Output): Promise<number> {
  const { values } = withUsage(usage, () =>
    parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        db: { type: 'string' },
        scenarios: { type: 'string' },
        agents: { type: 'string', default: 'auto' },
        'public-url': { type: 'string' },
        'public-read': { type: 'boolean' },
        'max-runs': { type: 'string' },
        'max-run-rps': { type: 'string' },
        'max-run-duration': { type: 'string' },
        'max-schedules': { type: 'string' },
        'min-schedule-interval': { type: 'string' },
        'max-agents': { type: 'string' },
        'max-streams': { type: 'string' },
        'hook-grace': { type: 'string' },
      },
    }),
  )
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new GauntletError('usage', `--port: "${values.port}" is not a port number`)
  const mode = values.agents as AgentMode
  if (!agentModes.includes(mode))
    throw new GauntletError('usage', `--agents: "${values.agents}" is not one of ${agentModes.join(', ')}`)
  const settings = withUsage(usage, () => readControllerSettings(values, process.env))
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
  const logLevel = withUsage(usage, () => logLevelFromEnv())
  // Scenario files are validated before anything is stored or served.
  const files = values.scenarios ? await readScenarioDir(values.scenarios, settings) : []

  const store = new SqliteStore(values.db ?? defaultDbFile)
  let scheduler: Scheduler | undefined
  let agents: AgentRegistry | undefined
  let faults: FaultEngine | undefined
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
          new AgentWindowCommits(store),
          Date.now,
          Math.min(8_000, settings.limits.hookGraceMs),
        )
      : undefined
    // Faults go to this host's Docker engine; leftovers of a crashed controller are reverted first.
    faults = localFaultEngine(undefined, (line) => out.stdout(line))
    await faults
      .recover()
      .catch((error: Error) => out.stdout(`faults unavailable until a Docker engine answers: ${error.message}`))
    const runs = new RunManager(
      {
        store,
        agent: new AgentPool(new InProcessAgent(), remote, mode),
        probe: tcpTargetProbe(settings.targetAllow),
        clock,
        faults,
        targetAllow: settings.targetAllow,
        hooks: { allow: settings.hookAllow, graceMs: settings.limits.hookGraceMs },
      },
      new RunAdmission(settings, undefined, (yaml, problems) => yamlPool().locate(yaml, problems)),
    )
    scheduler = new Scheduler({ store, runs, clock, limits: settings.limits })
    const app = buildApp({
      store,
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
      `listening ${address} (${files.length} scenario file(s) loaded${token ? (settings.publicRead ? ', token required for changes, reads public' : ', token required') : ''})`,
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
    await faults.revertAll('controller stopping')
    await app.close()
    return 0
  } finally {
    scheduler?.stop()
    agents?.stop()
    store.close()
    await closeYamlPool()
  }
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
  allow: ScenarioEgressAllow,
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
    loaded.push({ name: scenario.name, yaml })
  }
  return loaded
}
