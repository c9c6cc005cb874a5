import { GauntletError, type Assignment, type Replan } from '@gauntlet/contracts'
import { bearerHeaders } from '@gauntlet/http'

/** How long the controller waits for an agent to answer an order. */
const orderTimeoutMs = 2_000

/** The controller's calls to an agent's API (see contracts/agent-protocol.ts). */
export class AgentClient {
  constructor(private readonly secret?: string) {}

  async assign(agentUrl: string, assignment: Assignment): Promise<void> {
    await this.call(agentUrl, 'POST', '/assignments', assignment)
  }

  /** False when the agent refused (the second was already under way) or could not be reached. */
  async replan(agentUrl: string, runId: string, replan: Replan): Promise<boolean> {
    try {
      await this.call(agentUrl, 'PUT', `/assignments/${encodeURIComponent(runId)}/plan`, replan)
      return true
    } catch {
      return false
    }
  }

  /** Best effort: an agent that cannot be reached stops on its own when the controller stops expecting it. */
  async stop(agentUrl: string, runId: string): Promise<void> {
    await this.call(agentUrl, 'DELETE', `/assignments/${encodeURIComponent(runId)}`).catch(() => undefined)
  }

  private async call(agentUrl: string, method: string, path: string, body?: unknown): Promise<void> {
    let response: Response
    try {
      response = await fetch(new URL(path, agentUrl), {
        method,
        headers: { ...bearerHeaders(this.secret), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(orderTimeoutMs),
      })
    } catch (error) {
      throw new GauntletError('target_unreachable', `agent at ${agentUrl} did not answer: ${(error as Error).message}`)
    }
    const text = await response.text()
    if (response.ok) return
    let detail = text.slice(0, 300)
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail
    } catch {
      // not problem+json: keep the raw text
    }
    throw new GauntletError('conflict', `agent at ${agentUrl} refused (${response.status}): ${detail}`)
  }
}
