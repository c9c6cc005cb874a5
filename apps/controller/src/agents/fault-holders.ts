import type { AgentFaultReport, FaultPrepared, FaultSpec } from '@gauntlet/contracts'
import type { FaultEngine } from '@gauntlet/faults'
import type { AgentClient } from './agent-client.js'
import type { AgentInfo } from './agent-registry.js'

/** Something that holds faults on a Docker engine: a fault-capable agent, or the controller's own engine. */
export interface FaultHolder {
  /** Unique among holders: the agent's name, or "controller". */
  key: string
  /** The agent's name; absent for the controller's own engine. */
  agent?: string
  /** For messages: "agent a1", "the controller's Docker engine". */
  label: string
  /**
   * Can its engine carry the fault and does it hold the target? The spec with `auto` decided, and the
   * containers. `check`: a placement check, the engine starts nothing for the fault (no warm holders).
   */
  prepare(spec: FaultSpec, check?: boolean): Promise<FaultPrepared>
  apply(spec: FaultSpec, untilEpochMs: number, runId?: string): Promise<AgentFaultReport>
  revert(id: string, reason: string, options?: { beforeDrain?: () => void | Promise<void> }): Promise<AgentFaultReport>
  list(): Promise<AgentFaultReport[]>
}

/** A fault-capable agent (started with --docker), reached over its signed fault routes. */
export function agentHolder(agent: AgentInfo, client: AgentClient): FaultHolder {
  return {
    key: agent.name,
    agent: agent.name,
    label: `agent ${agent.name}`,
    prepare: (spec, check) => client.prepareFault(agent.url, spec, check),
    apply: (spec, untilEpochMs, runId) =>
      client.applyFault(agent.url, { spec, untilEpochMs, ...(runId ? { runId } : {}) }),
    revert: async (id, _reason, options) => {
      if (options?.beforeDrain) {
        // In two halves, as beforeDrain is in one process: new connections bypass a proxy delay, the
        // run moves its connections off it, and only then does the proxy end the ones left.
        await client.bypassFault(agent.url, id).catch(() => undefined)
        await options.beforeDrain()
      }
      return client.revertFault(agent.url, id)
    },
    list: () => client.listFaults(agent.url),
  }
}

/** The controller's own Docker engine (`gauntlet controller --docker`, started as root on a Docker host). */
export function localHolder(engine: FaultEngine): FaultHolder {
  return {
    key: 'controller',
    label: "the controller's Docker engine",
    prepare: async (spec, check) => ({ spec: await engine.prepare(spec, { warm: check !== true }), targets: [] }),
    apply: (spec, untilEpochMs, runId) => engine.apply(spec, untilEpochMs, runId ? { run: runId } : {}),
    revert: (id, reason, options) => engine.revert(id, reason, options),
    list: () => engine.list(),
  }
}
