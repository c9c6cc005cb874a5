import {
  controllerLostAfterMs,
  heartbeatIntervalMs,
  maxLoadFailureChars,
  maxWindowsPerReport,
  type AgentReport,
  type Heartbeat,
  type HeartbeatReply,
  type WindowReport,
} from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import type { LoadRunResult } from '../load/load-generator.js'

export interface ControllerLinkOptions {
  controllerUrl: string
  name: string
  /** GAUNTLET_AGENT_SECRET: signs every call (it is never sent). */
  secret: string
  /** What to advertise in the next heartbeat. */
  heartbeat(): Heartbeat
  /** The controller answered a heartbeat sent at local time `sentAt`. */
  onReply(reply: HeartbeatReply, sentAt: number, receivedAt: number): void
  /** No answer from the controller for controllerLostAfterMs while runs were active. */
  onControllerLost(): void
  /** The controller no longer knows this run (finished, or lost in a restart): its load must stop. */
  onRunRejected(runId: string): void
  log(line: string): void
}

interface PendingReport {
  windows: WindowReport[]
  done?: AgentReport['done']
  sending: boolean
  failures: number
}

/** At most this many windows wait per run while the controller is unreachable (10 minutes of them). */
const maxQueuedWindows = 600

/**
 * The agent's side of the conversation with its controller: heartbeats every second, window reports
 * delivered in order with retries (the controller ignores duplicates), and the watchdog that stops
 * the load when the controller has been silent for controllerLostAfterMs.
 */
export class ControllerLink {
  private lastContact = Date.now()
  private lostNotified = false
  private heartbeatTimer: NodeJS.Timeout | undefined
  private watchdog: NodeJS.Timeout | undefined
  private readonly reports = new Map<string, PendingReport>()
  private stopped = false
  private refusedLogged = false

  constructor(private readonly options: ControllerLinkOptions) {}

  start(hasActiveRuns: () => boolean): void {
    void this.beat()
    this.watchdog = setInterval(() => {
      const silentMs = Date.now() - this.lastContact
      if (silentMs < controllerLostAfterMs) {
        this.lostNotified = false
      } else if (!this.lostNotified && hasActiveRuns()) {
        this.lostNotified = true
        this.options.log(`controller silent for ${Math.round(silentMs / 1000)} s: stopping all load`)
        this.options.onControllerLost()
      }
    }, 250)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.heartbeatTimer)
    clearInterval(this.watchdog)
  }

  report(runId: string, window: WindowReport): void {
    const pending = this.pending(runId)
    pending.windows.push(window)
    if (pending.windows.length > maxQueuedWindows) pending.windows.shift()
    void this.flush(runId)
  }

  /** `failure`: why the load failed, when it did (the message only: what caused it stays in the agent's log). */
  reportDone(runId: string, result: LoadRunResult, failure?: string): void {
    this.pending(runId).done = {
      aborted: result.aborted,
      peakConnections: result.peakConnections,
      ...(result.stoppedBy !== undefined ? { stoppedBy: result.stoppedBy.slice(0, 200) } : {}),
      ...(failure !== undefined ? { failure: failure.slice(0, maxLoadFailureChars) } : {}),
    }
    void this.flush(runId)
  }

  /** Resolves once every queued report is delivered or given up (bounded by `limitMs`). */
  async settle(limitMs: number): Promise<void> {
    const until = Date.now() + limitMs
    while (this.reports.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  private pending(runId: string): PendingReport {
    let pending = this.reports.get(runId)
    if (!pending) {
      pending = { windows: [], sending: false, failures: 0 }
      this.reports.set(runId, pending)
    }
    return pending
  }

  private async beat(): Promise<void> {
    if (this.stopped) return
    const sentAt = Date.now()
    try {
      const response = await this.call(
        'PUT',
        `/api/agents/${encodeURIComponent(this.options.name)}`,
        this.options.heartbeat(),
        heartbeatIntervalMs,
      )
      if (response.ok) {
        const receivedAt = Date.now()
        this.options.onReply((await response.json()) as HeartbeatReply, sentAt, receivedAt)
      }
    } catch {
      // Unreachable: the watchdog decides when that matters.
    }
    if (!this.stopped)
      this.heartbeatTimer = setTimeout(() => void this.beat(), Math.max(0, sentAt + heartbeatIntervalMs - Date.now()))
  }

  private async flush(runId: string): Promise<void> {
    const pending = this.reports.get(runId)
    if (!pending || pending.sending || this.stopped) return
    pending.sending = true
    const windows = pending.windows.slice(0, maxWindowsPerReport)
    const done = pending.windows.length === windows.length ? pending.done : undefined
    const body: AgentReport = { runId, windows, ...(done ? { done } : {}) }
    let retry = false
    try {
      const response = await this.call(
        'POST',
        `/api/agents/${encodeURIComponent(this.options.name)}/reports`,
        body,
        5_000,
      )
      await response.body?.cancel()
      if (response.ok || response.status === 404) {
        pending.windows.splice(0, windows.length)
        pending.failures = 0
        if (response.status === 404) {
          this.reports.delete(runId)
          this.options.onRunRejected(runId)
        } else if (done && pending.windows.length === 0) {
          this.reports.delete(runId)
        }
      } else if (
        response.status >= 400 &&
        response.status < 500 &&
        response.status !== 401 &&
        response.status !== 429
      ) {
        // The controller will never take these (malformed, too large): drop them rather than jam the queue.
        this.options.log(
          `the controller rejected ${windows.length} window(s) of run ${runId} with status ${response.status}: dropped`,
        )
        pending.windows.splice(0, windows.length)
      } else {
        retry = true
      }
    } catch {
      retry = true
    }
    pending.sending = false
    if (retry) {
      // Backoff 250 ms doubling to 2 s; the watchdog stops the load if the controller stays away.
      pending.failures++
      setTimeout(() => void this.flush(runId), Math.min(2_000, 250 * 2 ** (pending.failures - 1))).unref()
    } else if (this.reports.get(runId) === pending && (pending.windows.length > 0 || (pending.done && !done))) {
      void this.flush(runId)
    }
  }

  private async call(method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    const url = new URL(path, this.options.controllerUrl)
    const text = JSON.stringify(body)
    const response = await fetch(url, {
      method,
      headers: {
        'content-type': 'application/json',
        ...signRequest(this.options.secret, method, url.toString(), text),
      },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (response.ok || response.status === 404) this.lastContact = Date.now()
    if (response.status === 401 && !this.refusedLogged) {
      this.refusedLogged = true
      this.options.log(
        'the controller refused this agent: GAUNTLET_AGENT_SECRET differs from the controller\u2019s, the ' +
          'clocks differ by more than 30 s, or the controller takes no remote agents',
      )
    }
    if ((response.status === 403 || response.status === 429) && !this.refusedLogged) {
      this.refusedLogged = true
      this.options.log(
        `the controller refused this agent (${response.status}): its URL is not in GAUNTLET_AGENT_ALLOW, or ` +
          `the controller has as many agents as it takes`,
      )
    }
    if (!response.ok) await response.body?.cancel()
    return response
  }
}
