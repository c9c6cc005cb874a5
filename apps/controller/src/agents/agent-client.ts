import { GauntletError, type Assignment, type Replan } from '@gauntlet/contracts'
import { egressRequest, signRequest, type AllowList } from '@gauntlet/http'

/** How long the controller waits for an agent to answer an order. */
const orderTimeoutMs = 2_000
/** What of an agent's refusal may reach a run's reason (readable by people): a problem's title or detail, this long. */
const maxReasonChars = 200

/**
 * The controller's calls to an agent's API (see contracts/agent-protocol.ts): each signed with
 * GAUNTLET_AGENT_SECRET, sent only to hosts GAUNTLET_AGENT_ALLOW names (checked on the resolved
 * address), never following a redirect.
 */
export class AgentClient {
  constructor(
    private readonly secret: string,
    private readonly allow: AllowList,
  ) {}

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
    const url = new URL(path, agentUrl)
    const text = body === undefined ? undefined : JSON.stringify(body)
    let response: Awaited<ReturnType<typeof egressRequest>>
    try {
      response = await egressRequest(url.toString(), {
        allow: this.allow,
        method,
        headers: {
          ...signRequest(this.secret, method, url.toString(), text),
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(text === undefined ? {} : { body: text }),
        timeoutMs: orderTimeoutMs,
        maxResponseBytes: 16 * 1024,
      })
    } catch (error) {
      // Not allowed by GAUNTLET_AGENT_ALLOW: that message says so and names no more than the host.
      if (error instanceof GauntletError) throw error
      throw new GauntletError('target_unreachable', `agent at ${agentUrl} did not answer: ${(error as Error).message}`)
    }
    if (response.status >= 200 && response.status < 300) return
    const redirect = response.status >= 300 && response.status < 400 ? ' (a redirect, not followed)' : ''
    throw new GauntletError(
      'conflict',
      `agent at ${agentUrl} refused (${response.status})${redirect}${problemText(response)}`,
    )
  }
}

/**
 * ": <detail or title>" of a problem+json answer, cut to maxReasonChars; nothing for any other body,
 * which could be anything the URL's owner serves (an internal page, a secret).
 */
function problemText(response: { headers: Record<string, string | string[] | undefined>; body: string }): string {
  const type = String(response.headers['content-type'] ?? '').toLowerCase()
  if (!type.startsWith('application/problem+json')) return ''
  let problem: unknown
  try {
    problem = JSON.parse(response.body)
  } catch {
    return ''
  }
  if (typeof problem !== 'object' || problem === null) return ''
  const { detail, title } = problem as { detail?: unknown; title?: unknown }
  const text = typeof detail === 'string' && detail ? detail : typeof title === 'string' ? title : ''
  const clean = text
    .replace(/\p{Cc}+/gu, ' ') // control characters (C0, DEL, C1)
    .trim()
    .slice(0, maxReasonChars)
  return clean ? `: ${clean}` : ''
}
