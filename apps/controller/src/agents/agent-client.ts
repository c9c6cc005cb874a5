import {
  AgentFaultReportSchema,
  FaultPreparedSchema,
  GauntletError,
  maxAgentFaults,
  maxFaultAnswerBytes,
  type AgentFaultReport,
  type Assignment,
  type FaultApplyRequest,
  type FaultPrepared,
  type FaultSpec,
  type Replan,
} from '@gauntlet/contracts'
import { egressRequest, signRequest, type AllowList, type EgressResponse } from '@gauntlet/http'
import { Type } from '@gauntlet/contracts/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/** How long the controller waits for an agent to answer an order. */
const orderTimeoutMs = 2_000
/**
 * Fault orders take longer: a prepare asks the agent's engine (and its kernel), an apply may start a
 * holder container and wait for it, a revert reads the namespace back.
 */
export const faultPrepareTimeoutMs = 10_000
const faultOrderTimeoutMs = 30_000

const preparedAnswer = TypeCompiler.Compile(FaultPreparedSchema)
const reportAnswer = TypeCompiler.Compile(AgentFaultReportSchema)
const bypassAnswer = TypeCompiler.Compile(Type.Object({ draining: Type.Boolean() }))
const listAnswer = TypeCompiler.Compile(Type.Array(AgentFaultReportSchema, { maxItems: maxAgentFaults }))
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

  /** Best effort: the agent moves the run's connections to new sockets (a proxy delay began or drains). */
  async reconnect(agentUrl: string, runId: string): Promise<void> {
    await this.call(agentUrl, 'POST', `/assignments/${encodeURIComponent(runId)}/reconnect`).catch(() => undefined)
  }

  /** Best effort: an agent that cannot be reached stops on its own when the controller stops expecting it. */
  async stop(agentUrl: string, runId: string): Promise<void> {
    await this.call(agentUrl, 'DELETE', `/assignments/${encodeURIComponent(runId)}`).catch(() => undefined)
  }

  /** Can this agent's engine carry the fault, and which of its containers would it hit? `check`: start nothing. */
  async prepareFault(agentUrl: string, spec: FaultSpec, check = false): Promise<FaultPrepared> {
    const body = { spec, ...(check ? { check } : {}) }
    const answer = await this.faultCall(agentUrl, 'POST', '/faults/prepare', body, faultPrepareTimeoutMs)
    return checked(agentUrl, preparedAnswer, answer)
  }

  async applyFault(agentUrl: string, request: FaultApplyRequest): Promise<AgentFaultReport> {
    return checked(agentUrl, reportAnswer, await this.faultCall(agentUrl, 'POST', '/faults', request))
  }

  /** The first half of a revert: true once new connections bypass the fault's proxy (false: already reverted). */
  async bypassFault(agentUrl: string, id: string): Promise<boolean> {
    const answer = await this.faultCall(agentUrl, 'POST', `/faults/${encodeURIComponent(id)}/bypass`)
    if (!bypassAnswer.Check(answer))
      throw new GauntletError('fault_failed', `agent at ${agentUrl} answered a fault order with a malformed body`)
    return answer.draining
  }

  async revertFault(agentUrl: string, id: string): Promise<AgentFaultReport> {
    const answer = await this.faultCall(agentUrl, 'DELETE', `/faults/${encodeURIComponent(id)}`)
    return checked(agentUrl, reportAnswer, answer)
  }

  async listFaults(agentUrl: string): Promise<AgentFaultReport[]> {
    return checked(agentUrl, listAnswer, await this.faultCall(agentUrl, 'GET', '/faults'))
  }

  /**
   * A fault order: its answer parsed. A refusal keeps its meaning (404: the agent has no such container
   * or fault; anything else: conflict) and says only the problem's own words.
   */
  private async faultCall(
    agentUrl: string,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = faultOrderTimeoutMs,
  ): Promise<unknown> {
    const response = await this.send(agentUrl, method, path, body, timeoutMs, maxFaultAnswerBytes)
    if (response.status >= 200 && response.status < 300) {
      try {
        return JSON.parse(response.body) as unknown
      } catch {
        throw new GauntletError('fault_failed', `agent at ${agentUrl} answered ${path} with a body that is not JSON`)
      }
    }
    const words = problemText(response).replace(/^: /, '') || `status ${response.status}`
    throw new GauntletError(response.status === 404 ? 'not_found' : 'conflict', words)
  }

  private async call(agentUrl: string, method: string, path: string, body?: unknown): Promise<void> {
    const response = await this.send(agentUrl, method, path, body, orderTimeoutMs, 16 * 1024)
    if (response.status >= 200 && response.status < 300) return
    const redirect = response.status >= 300 && response.status < 400 ? ' (a redirect, not followed)' : ''
    throw new GauntletError(
      'conflict',
      `agent at ${agentUrl} refused (${response.status})${redirect}${problemText(response)}`,
    )
  }

  private async send(
    agentUrl: string,
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
    maxResponseBytes: number,
  ): Promise<EgressResponse> {
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
        timeoutMs,
        maxResponseBytes,
      })
    } catch (error) {
      // Not allowed by GAUNTLET_AGENT_ALLOW: that message says so and names no more than the host.
      if (error instanceof GauntletError) throw error
      throw new GauntletError('target_unreachable', `agent at ${agentUrl} did not answer: ${(error as Error).message}`)
    }
    return response
  }
}

/** An agent's answer is checked like its reports: what does not match the protocol is not believed. */
function checked<V>(agentUrl: string, check: { Check(value: unknown): value is V }, value: unknown): V {
  if (!check.Check(value))
    throw new GauntletError('fault_failed', `agent at ${agentUrl} answered a fault order with a malformed body`)
  return value
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
