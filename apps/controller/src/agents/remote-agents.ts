import { GauntletError } from '@gauntlet/contracts'
import type { LoadAgent, LoadOutcome } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'
import type { AgentClient } from './agent-client.js'
import type { AgentInfo, AgentRegistry } from './agent-registry.js'
import { RemoteRun } from './remote-run.js'
import type { WindowIntake } from './window-intake.js'

/** After asking agents to stop, how long to wait for their last windows (by default). */
const defaultStopWaitMs = 8_000

/**
 * Runs a scenario on the remote agents that heartbeat: splits every step's rate by capacity, starts
 * them all on one timeline (second 0 = startAt on the controller's clock), merges their windows, and
 * handles the loss of an agent as the scenario's onAgentLoss says (each run is a RemoteRun).
 */
export class RemoteAgents implements LoadAgent {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly client: AgentClient,
    /** Agents' windows are checked and stored before the report is acknowledged: nothing acknowledged is lost to a crash. */
    private readonly commits: WindowIntake,
    private readonly now: () => number = Date.now,
    /** After a stop, how long the run waits for agents' last windows: within the controller's --hook-grace. */
    private readonly stopWaitMs = defaultStopWaitMs,
  ) {}

  get available(): AgentInfo[] {
    return this.registry.available()
  }

  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): Promise<LoadOutcome> {
    const agents = this.registry.available()
    assertCapacity(scenario, agents)
    const { registry, client, commits, now, stopWaitMs } = this
    return new RemoteRun({ registry, client, commits, now, stopWaitMs }, scenario, options, agents).execute()
  }
}

/** Refuses a run the connected agents cannot carry: none connected, or its busiest step above their capacity. */
function assertCapacity(scenario: Scenario, agents: readonly AgentInfo[]): void {
  if (agents.length === 0) throw new GauntletError('conflict', 'no agent is connected to this controller')
  const capacity = agents.reduce((sum, a) => sum + a.capacityRps, 0)
  const busiest = Math.max(...scenario.steps.map((s) => s.rps))
  if (busiest > capacity) {
    throw new GauntletError(
      'conflict',
      `the busiest step asks ${busiest} rps but the ${agents.length} agent(s) offer ${capacity} rps in total ` +
        `(raise --capacity or add agents)`,
    )
  }
}
