import type { LoadAgent } from '../run/ports.js'
import type { RemoteAgents } from './remote-agents.js'

/** local: always the embedded agent; remote: registered agents only; auto: remote agents when any heartbeats. */
export type AgentMode = 'auto' | 'remote' | 'local'
export const agentModes: readonly AgentMode[] = ['auto', 'remote', 'local']

/**
 * Chooses, per run, who generates the load. Without `remote` (no GAUNTLET_AGENT_SECRET, so no agent
 * can authenticate) every run goes to the embedded agent.
 */
export class AgentPool implements LoadAgent {
  constructor(
    private readonly local: LoadAgent,
    private readonly remote: RemoteAgents | undefined,
    private readonly mode: AgentMode,
  ) {}

  run(...args: Parameters<LoadAgent['run']>): ReturnType<LoadAgent['run']> {
    const remote = this.mode === 'local' ? undefined : this.remote
    const useLocal = !remote || (this.mode === 'auto' && remote.available.length === 0)
    return useLocal ? this.local.run(...args) : remote.run(...args)
  }
}
