import type { LoadAgent } from '../run/ports.js'
import type { RemoteAgents } from './remote-agents.js'

/** local: always the embedded agent; remote: registered agents only; auto: remote agents when any heartbeats. */
export type AgentMode = 'auto' | 'remote' | 'local'
export const agentModes: readonly AgentMode[] = ['auto', 'remote', 'local']

/** Chooses, per run, who generates the load. */
export class AgentPool implements LoadAgent {
  constructor(
    private readonly local: LoadAgent,
    private readonly remote: RemoteAgents,
    private readonly mode: AgentMode,
  ) {}

  run(...args: Parameters<LoadAgent['run']>): ReturnType<LoadAgent['run']> {
    const useLocal = this.mode === 'local' || (this.mode === 'auto' && this.remote.available.length === 0)
    return useLocal ? this.local.run(...args) : this.remote.run(...args)
  }
}
