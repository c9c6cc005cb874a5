import {
  GauntletError,
  type Decision,
  type ErrorCode,
  type RunSummary,
  type StepSummary,
  type WindowReport,
} from '@gauntlet/contracts'

export type FollowedEvent =
  | { event: 'window'; data: WindowReport }
  | { event: 'step'; data: StepSummary }
  | { event: 'decision'; data: Decision }
  | { event: 'status'; data: { status: string; summary: RunSummary | null } }

/** The CLI's client for a remote controller's REST API (`gauntlet run --controller <url>`). */
export class ControllerClient {
  private readonly base: string
  private readonly headers: Record<string, string>

  constructor(url: string, token: string | undefined) {
    this.base = url.replace(/\/+$/, '')
    this.headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }
  }

  async startRun(yaml: string, target: string | undefined): Promise<string> {
    const response = await this.request('/api/runs', {
      method: 'POST',
      body: JSON.stringify({ yaml, ...(target ? { target } : {}) }),
    })
    return ((await response.json()) as { id: string }).id
  }

  /** /api/faults[suffix]: apply (POST), list (GET), revert (DELETE /<id>). */
  async faults(method: 'GET' | 'POST' | 'DELETE', suffix: string, body?: unknown): Promise<unknown> {
    // A JSON content type needs a body, even an empty object, for DELETE.
    const payload = body !== undefined ? JSON.stringify(body) : method === 'DELETE' ? '{}' : undefined
    const response = await this.request(`/api/faults${suffix}`, {
      method,
      ...(payload === undefined ? {} : { body: payload }),
    })
    return response.json()
  }

  async abortRun(id: string): Promise<void> {
    await this.request(`/api/runs/${encodeURIComponent(id)}/abort`, { method: 'POST', body: '{}' })
  }

  /** Yields the run's server-sent events until its final status. */
  async *follow(id: string): AsyncGenerator<FollowedEvent> {
    const response = await this.request(`/api/runs/${encodeURIComponent(id)}/events`, { method: 'GET' })
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data) yield { event, data: JSON.parse(data) } as FollowedEvent
      }
    }
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.base}${path}`, { ...init, headers: this.headers })
    } catch (error) {
      // fetch reports "fetch failed" and keeps the real reason (ECONNREFUSED ...) in `cause`.
      const reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message
      throw new GauntletError('target_unreachable', `controller ${this.base} unreachable: ${reason}`)
    }
    if (response.ok) return response
    // A problem+json answer keeps its code and located problems, so the CLI prints them as for a local run.
    const problem = (await response.json().catch(() => ({}))) as { code?: ErrorCode; detail?: string; problems?: [] }
    const code: ErrorCode = problem.code ?? 'internal'
    throw new GauntletError(
      code === 'internal' ? 'target_unreachable' : code,
      `controller: ${problem.detail ?? response.statusText}`,
      {
        ...(problem.problems ? { problems: problem.problems } : {}),
      },
    )
  }
}
