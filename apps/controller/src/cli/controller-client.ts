import {
  GauntletError,
  type Decision,
  type ErrorCode,
  type RunSummary,
  type ObservedStep,
  type WindowReport,
} from '@gauntlet/contracts'
import { streamStart } from '../http/run-event-stream.js'
import { sseMessages, type SseMessage } from './sse-messages.js'
import { contentTypes, regressedHeader } from '../report/report-formats.js'
import type { MadeReport, ReportRequest } from '../report/report-maker.js'

export type FollowedEvent =
  | { event: 'window'; data: WindowReport }
  | { event: 'step'; data: ObservedStep }
  | { event: 'decision'; data: Decision }
  | { event: 'warning'; data: { text: string } }
  | { event: 'status'; data: { status: string; summary: RunSummary | null } }

export interface FollowOptions {
  /** Told each time the stream dropped, before waiting `delayMs` to reopen it. */
  onReconnect?: (attempt: { attempt: number; delayMs: number; reason: string }) => void
  /** Attempts in a row that bring no event before giving up (default 8, about a minute in all). */
  maxAttempts?: number
  /** Longest wait between two attempts, ms (default 10 000). */
  maxDelayMs?: number
  /** Silence (no event, no heartbeat) after which a connection counts as dropped, ms (default 45 000: 3 heartbeats). */
  idleTimeoutMs?: number
}

/** Errors worth another attempt: the controller or the network, not a refusal. */
const retryable = new Set<ErrorCode>(['target_unreachable', 'too_many'])

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

  /** GET /api/runs/:id/report in a format (with a baseline: the comparison, and whether a step regressed). */
  async report(id: string, request: ReportRequest): Promise<MadeReport> {
    const query = new URLSearchParams({
      ...(request.strict ? { strict: 'true' } : {}),
      ...(request.baselineId ? { baseline: request.baselineId } : {}),
    }).toString()
    const response = await this.request(`/api/runs/${encodeURIComponent(id)}/report${query ? `?${query}` : ''}`, {
      headers: { accept: contentTypes[request.format].split(';')[0]! },
    })
    const regressed = response.headers.get(regressedHeader)
    return {
      body: await response.text(),
      contentType: response.headers.get('content-type') ?? contentTypes[request.format],
      ...(regressed !== null ? { regressed: regressed === 'true' } : {}),
    }
  }

  async abortRun(id: string): Promise<void> {
    await this.request(`/api/runs/${encodeURIComponent(id)}/abort`, { method: 'POST', body: '{}' })
  }

  /**
   * Yields the run's events from its start until its final status, each once. A stream that drops
   * (or stays silent past `idleTimeoutMs`) is reopened with the last event id, after the server's
   * `retry:` doubled at each failed attempt up to `maxDelayMs`; the server replays what was missed.
   * Gives up after `maxAttempts` attempts in a row that bring nothing.
   */
  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<FollowedEvent> {
    const { maxAttempts = 8, maxDelayMs = 10_000, idleTimeoutMs = 45_000 } = options
    let lastEventId = streamStart
    let retryMs = 1_000
    let failures = 0
    let nextWindow = 0
    for (;;) {
      let reason = "the stream ended before the run's final status"
      try {
        for await (const message of this.eventStream(id, lastEventId, idleTimeoutMs)) {
          if (message.retry !== undefined) retryMs = message.retry
          // Progress (a new position) makes the next drop a first one again.
          if (message.id !== undefined && message.id !== lastEventId) failures = 0
          if (message.id !== undefined) lastEventId = message.id
          if (message.event === undefined || message.data === undefined) continue
          const event = { event: message.event, data: JSON.parse(message.data) as unknown } as FollowedEvent
          // The server replays from the last id; a window seen already is never passed on twice.
          if (event.event === 'window') {
            if (event.data.index < nextWindow) continue
            nextWindow = event.data.index + 1
          }
          yield event
          if (event.event === 'status' && event.data.status !== 'running') return
        }
      } catch (error) {
        if (error instanceof GauntletError && !retryable.has(error.code)) throw error
        reason = error instanceof Error ? error.message : String(error)
      }
      if (++failures > maxAttempts)
        throw new GauntletError(
          'target_unreachable',
          `run ${id}'s event stream dropped and ${maxAttempts} attempts to reopen it failed: ${reason}`,
        )
      const delayMs = Math.min(retryMs * 2 ** (failures - 1), maxDelayMs)
      options.onReconnect?.({ attempt: failures, delayMs, reason })
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }

  /** One connection to the run's event stream, from `lastEventId` on; cut when silent for `idleTimeoutMs`. */
  private async *eventStream(id: string, lastEventId: string, idleTimeoutMs: number): AsyncGenerator<SseMessage> {
    const abort = new AbortController()
    let idle = setTimeout(() => abort.abort(), idleTimeoutMs)
    try {
      const response = await this.request(`/api/runs/${encodeURIComponent(id)}/events`, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'last-event-id': lastEventId },
        signal: abort.signal,
      })
      // The server's heartbeat comments count: a quiet run is not a dead connection.
      const body = response.body as unknown as AsyncIterable<Uint8Array>
      const watched = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of body) {
          clearTimeout(idle)
          idle = setTimeout(() => abort.abort(), idleTimeoutMs)
          yield chunk
        }
      }
      yield* sseMessages(watched())
    } catch (error) {
      if (abort.signal.aborted) throw new Error(`no event nor heartbeat for ${idleTimeoutMs / 1000}s`)
      throw error
    } finally {
      clearTimeout(idle)
      abort.abort()
    }
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.base}${path}`, {
        ...init,
        headers: { ...this.headers, ...(init.headers as Record<string, string> | undefined) },
      })
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
