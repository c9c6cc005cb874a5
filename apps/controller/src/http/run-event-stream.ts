import { GauntletError, type Decision } from '@gauntlet/contracts'
import type { ServerResponse } from 'node:http'
import type { RunEvent, RunManager } from '../run/run-manager.js'
import { scrubSecrets } from '../security/redact.js'
import type { RunQueries } from '../run/run-queries.js'
import type { StoredRun } from '../storage/run-store.js'

/**
 * Where a client stands in a run's event stream, sent as each event's `id:` and read back from
 * `Last-Event-ID` on reconnect: the next window index it lacks and how many decisions it has. Windows
 * come in index order and decisions in the order taken, so these two numbers say exactly what it missed.
 */
export interface StreamPosition {
  windows: number
  decisions: number
}

/** The start of a run's stream: a client that sends this gets every event from the run's beginning. */
export const streamStart = '0-0'

/** How long a client should wait before reconnecting (the stream's `retry:`), in ms. */
export const streamRetryMs = 1_000

/** How often a quiet event stream gets a comment line. */
const sseHeartbeatMs = 15_000

/** How many stored windows are read at a time while catching a client up. */
const replayPage = 600

/** `Last-Event-ID`: absent for a new client, else a position this stream sent. */
export function parseLastEventId(header: string | string[] | undefined): StreamPosition | undefined {
  if (header === undefined) return undefined
  const match = /^(\d{1,9})-(\d{1,9})$/.exec(String(header).trim())
  if (!match) throw new GauntletError('usage', `Last-Event-ID "${String(header)}" is not an id this stream sent`)
  return { windows: Number(match[1]), decisions: Number(match[2]) }
}

export interface RunEventStreamDeps {
  queries: Pick<RunQueries, 'find' | 'decisions' | 'windowReports' | 'liveWindowJson'>
  runs: Pick<RunManager, 'subscribe'>
}

/**
 * Writes a run's events to an open SSE response until its final status. A client that says where it
 * stands (`from`) first gets what it missed from the store (windows, decisions), then live events, none
 * twice; a new client gets live events only. A finished run's stream is the catch-up, if any, and its
 * final status. Step judgements and warnings are not replayed: every one of them is in the final summary.
 */
export function streamRunEvents(
  raw: ServerResponse,
  deps: RunEventStreamDeps,
  run: StoredRun,
  from: StreamPosition | undefined,
  secrets: readonly string[],
): Promise<void> {
  // A stream that cannot go on (a store read failed) is cut: its client reconnects and catches up.
  return new RunEventStream(raw, deps, run, from, secrets).start().catch(() => void raw.destroy())
}

class RunEventStream {
  /** The next window index the client lacks; unknown for a new client until its first live window. */
  private windows: number | undefined
  /** How many of the run's decisions the client has. */
  private decisions: number
  /** The number the next live decision gets (its place among all the run's decisions). */
  private nextLiveDecision = 0
  /** Live events that came while the client was being caught up. */
  private readonly pending: RunEvent[] = []
  private live = false
  private retrySent = false
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly raw: ServerResponse,
    private readonly deps: RunEventStreamDeps,
    private readonly run: StoredRun,
    private readonly from: StreamPosition | undefined,
    private readonly secrets: readonly string[],
  ) {
    this.windows = from?.windows
    this.decisions = from?.decisions ?? 0
  }

  async start(): Promise<void> {
    // Subscribing and reading the stored decisions in one synchronous step: every decision is either
    // stored now or arrives live, numbered from stored.length on.
    this.unsubscribe = this.deps.runs.subscribe(this.run.id, (event) =>
      this.live ? this.deliver(event) : this.pending.push(event),
    )
    const stored = this.deps.queries.decisions(this.run.id)
    this.nextLiveDecision = stored.length
    if (!this.from) this.decisions = stored.length
    this.raw.once('close', () => this.unsubscribe?.())
    if (this.unsubscribe) this.write('status', JSON.stringify({ status: 'running', summary: null }))
    if (this.from) await this.replay(stored)
    if (this.raw.destroyed) return
    if (!this.unsubscribe) {
      // Not running (finished, or interrupted by a restart): its final status ends the stream.
      // Read again: the run may have finished between the first read and the subscription.
      const final = this.deps.queries.find(this.run.id) ?? this.run
      const summary = final.summary ? { summary: final.summary } : {}
      this.deliver({ type: 'status', runId: this.run.id, status: final.status, ...summary })
      // Nothing more will come for a run no one is carrying, even one stored as `running`.
      if (!this.raw.writableEnded) this.raw.end()
      return
    }
    this.live = true
    for (const event of this.pending.splice(0)) this.deliver(event)
    if (this.raw.writableEnded) return
    // A comment line now and then keeps a quiet stream's socket inside the server's idle timeout (and proxies').
    const heartbeat = setInterval(() => this.raw.write(': heartbeat\n\n'), sseHeartbeatMs)
    this.raw.once('close', () => clearInterval(heartbeat))
  }

  private deliver(event: RunEvent): void {
    if (this.raw.writableEnded || this.raw.destroyed) return
    switch (event.type) {
      case 'window':
        // Skipped before it is made when the client has it already (replayed while it was caught up).
        if (this.windows !== undefined && event.window.index < this.windows) return
        try {
          this.writeWindow(event.window.index, this.deps.queries.liveWindowJson(this.run.id, event.window))
        } catch {
          // Called from the run's own path: a failed store read cuts this stream (its client reconnects
          // and catches up), never the run.
          this.raw.destroy()
        }
        return
      case 'decision':
        this.writeDecision(event.decision, this.nextLiveDecision++)
        return
      case 'step':
        this.write('step', JSON.stringify(scrubSecrets(event.step, this.secrets)))
        return
      case 'warning':
        // Live only, as step events: the final summary's warnings list every one of them.
        this.write('warning', JSON.stringify(scrubSecrets({ text: event.text }, this.secrets)))
        return
      case 'status': {
        const status = { status: event.status, summary: event.summary ?? null }
        this.write('status', JSON.stringify(scrubSecrets(status, this.secrets)))
        if (event.status !== 'running') {
          this.unsubscribe?.()
          this.raw.end()
        }
      }
    }
  }

  /**
   * The stored windows from the client's position on, each preceded by the stored decisions taken
   * before it ended, then the decisions left. Waits for the socket to drain: a long catch-up is not
   * buffered in memory.
   */
  private async replay(decisions: readonly Decision[]): Promise<void> {
    let next = this.decisions
    let from: number | null = this.windows ?? 0
    while (from !== null && !this.raw.destroyed) {
      const page = this.deps.queries.windowReports(this.run.id, from, replayPage)
      for (const report of page.reports) {
        const window = JSON.parse(report) as { index: number; startedAt: number }
        while (next < decisions.length && Date.parse(decisions[next]!.at) < window.startedAt + 1000)
          this.writeDecision(decisions[next]!, next++)
        if (!this.writeWindow(window.index, report)) await drained(this.raw)
      }
      from = page.next
    }
    while (next < decisions.length) this.writeDecision(decisions[next]!, next++)
  }

  /** Returns false when the socket's buffer is full (as ServerResponse.write does). */
  private writeWindow(index: number, json: string): boolean {
    if (this.windows !== undefined && index < this.windows) return true
    this.windows = index + 1
    return this.write('window', json)
  }

  private writeDecision(decision: Decision, ordinal: number): boolean {
    if (ordinal < this.decisions) return true
    this.decisions = ordinal + 1
    return this.write('decision', JSON.stringify(scrubSecrets(decision, this.secrets)))
  }

  /** One event; `id:` and the first event's `retry:` follow its data (clients read the fields in any order). */
  private write(event: string, data: string): boolean {
    const id = this.windows === undefined ? '' : `id: ${this.windows}-${this.decisions}\n`
    const retry = this.retrySent ? '' : `retry: ${streamRetryMs}\n`
    this.retrySent = true
    return this.raw.write(`event: ${event}\ndata: ${data}\n${id}${retry}\n`)
  }
}

/** Resolves once the response can take more, or has closed. */
function drained(raw: ServerResponse): Promise<void> {
  if (raw.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      raw.off('drain', done)
      raw.off('close', done)
      resolve()
    }
    raw.on('drain', done)
    raw.on('close', done)
  })
}
