import { GauntletError } from '@gauntlet/contracts'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { localFaultEngine, targetAllowListFromEnv, type FaultEngine } from '@gauntlet/agent'
import { isLoopbackHost } from '@gauntlet/http'
import { AgentClient } from '../agents/agent-client.js'
import { AgentPool, agentModes, type AgentMode } from '../agents/agent-pool.js'
import { AgentRegistry } from '../agents/agent-registry.js'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { RemoteAgents } from '../agents/remote-agents.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { buildApp } from '../http/app.js'
import { RunManager } from '../run/run-manager.js'
import { Scheduler } from '../schedule/scheduler.js'
import { parseScenario } from '../scenario/load-scenario.js'
import { AgentWindowCommits } from '../storage/group-commit.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { withUsage } from './args.js'
import type { Output } from './output.js'
import { defaultDbFile } from './run-command.js'

const usage = 'gauntlet controller [--port 8080] [--host 127.0.0.1] [--db <file>] [--scenarios <dir>] [--agents auto|remote|local]'

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
      },
    }),
  )
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GauntletError('usage', `--port: "${values.port}" is not a port number`)
  const mode = values.agents as AgentMode
  if (!agentModes.includes(mode)) throw new GauntletError('usage', `--agents: "${values.agents}" is not one of ${agentModes.join(', ')}`)
  const token = process.env.GAUNTLET_TOKEN || undefined
  const agentSecret = process.env.GAUNTLET_AGENT_SECRET || undefined
  if (!isLoopbackHost(values.host) && !token) {
    throw new GauntletError('usage', `refusing to listen on ${values.host} without GAUNTLET_TOKEN: anyone who can reach it could start load`)
  }
  if (!isLoopbackHost(values.host) && mode !== 'local' && !agentSecret) {
    throw new GauntletError('usage', `refusing to listen on ${values.host} without GAUNTLET_AGENT_SECRET: anyone who can reach it could pose as an agent and receive its orders`)
  }
  const targetAllow = withUsage(usage, () => targetAllowListFromEnv())
  // Scenario files are validated before anything is stored or served.
  const files = values.scenarios ? await readScenarioDir(values.scenarios) : []

  const store = new SqliteStore(values.db ?? defaultDbFile)
  let scheduler: Scheduler | undefined
  let agents: AgentRegistry | undefined
  let faults: FaultEngine | undefined
  try {
    const interrupted = store.interruptRunning()
    if (interrupted > 0) out.stdout(`marked ${interrupted} run(s) left running by a previous controller as interrupted`)
    for (const file of files) store.putScenario({ name: file.name, yaml: file.yaml, updatedAt: new Date().toISOString() })
    const clock = { now: () => new Date() }
    agents = new AgentRegistry(Date.now, store)
    agents.startSweeping()
    const remote = new RemoteAgents(agents, new AgentClient(agentSecret), new AgentWindowCommits(store))
    // Faults go to this host's Docker engine; leftovers of a crashed controller are reverted first.
    faults = localFaultEngine(undefined, (line) => out.stdout(line))
    await faults.recover().catch((error: Error) => out.stdout(`faults unavailable until a Docker engine answers: ${error.message}`))
    const runs = new RunManager({ store, agent: new AgentPool(new InProcessAgent(), remote, mode), probe: tcpTargetProbe, clock, faults })
    scheduler = new Scheduler({ store, runs, clock })
    await scheduler.start()
    const app = buildApp({ store, runs, scheduler, targetAllow, agents, faults, ...(token ? { token } : {}), ...(agentSecret ? { agentSecret } : {}) })
    const address = await app.listen({ port, host: values.host })
    out.stdout(`listening ${address} (${files.length} scenario file(s) loaded${token ? ', token required for changes' : ''})`)
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])
    out.stdout('stopping: aborting runs in progress and storing their summaries')
    await runs.shutdown()
    await faults.revertAll('controller stopping')
    await app.close()
    return 0
  } finally {
    scheduler?.stop()
    agents?.stop()
    store.close()
  }
}

async function readScenarioDir(dir: string): Promise<Array<{ name: string; yaml: string }>> {
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
    loaded.push({ name: parseScenario(yaml, file).name, yaml })
  }
  return loaded
}
