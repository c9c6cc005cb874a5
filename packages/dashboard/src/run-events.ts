// A run's event stream read with fetch() + ReadableStream: EventSource cannot send the Authorization
// header, so the SSE fields are parsed here. On a drop the stream is reopened after the server's
// `retry:` with `Last-Event-ID`, and the controller replays what was missed (windows and decisions).
import { notifyUnauthorized } from './api.js'
import { authHeaders } from './token.js'

/** One server-sent event; `id` is the last id seen (as EventSource keeps it), if any. */
export interface SseEvent {
  event: string
  data: string
  id: string | undefined
}

/**
 * Incremental SSE parser (the WHATWG event-stream rules that this stream uses): feed it text chunks
 * as they come, cut anywhere; it hands back the events each chunk completed.
 */
export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []
  private hasData = false
  /** The last event id, kept across events (an event without `id:` keeps the previous one). */
  lastId: string | undefined
  /** The reconnection delay the server asked for, in ms. */
  retryMs: number | undefined

  push(chunk: string): SseEvent[] {
    this.buffer += chunk
    const events: SseEvent[] = []
    let end: number
    while ((end = this.lineEnd()) >= 0) {
      const line = this.buffer.slice(0, end)
      // CRLF counts as one line end.
      const skip = this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1
      this.buffer = this.buffer.slice(end + skip)
      const event = this.line(line)
      if (event) events.push(event)
    }
    return events
  }

  /** A lone CR at the very end may be half of a CRLF: wait for the next chunk. */
  private lineEnd(): number {
    const match = /\r\n|\r|\n/.exec(this.buffer)
    if (!match) return -1
    if (match[0] === '\r' && match.index === this.buffer.length - 1) return -1
    return match.index
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.event = value
        break
      case 'data':
        this.data.push(value)
        this.hasData = true
        break
      case 'id':
        if (!value.includes('\0')) this.lastId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value)
        break
    }
    return undefined
  }

  private dispatch(): SseEvent | undefined {
    const event = this.hasData
      ? { event: this.event || 'message', data: this.data.join('\n'), id: this.lastId }
      : undefined
    this.event = ''
    this.data = []
    this.hasData = false
    return event
  }
}

export interface FollowOptions {
  /** Where the client stands (`<windows>-<decisions>`), sent as Last-Event-ID on the first request too. */
  lastEventId: string
  onEvent: (event: SseEvent) => void
  /** Connected (true) or dropped and waiting to reconnect (false): shown to the person watching. */
  onConnection?: (connected: boolean) => void
  /** A refusal that reconnecting cannot fix (a 4xx other than 429). */
  onFatal?: (error: Error) => void
  signal: AbortSignal
}

/** Default wait before reconnecting until the server says otherwise (its `retry:`). */
const defaultRetryMs = 1_000

/**
 * Follows a run's events until a final status arrives (the server then ends the stream) or `signal`
 * aborts. Each drop is followed by a reconnect from the last id received: nothing is missed and,
 * as the controller skips what the id says the client has, nothing comes twice.
 */
export async function followRunEvents(runId: string, options: FollowOptions): Promise<void> {
  const { signal } = options
  let lastEventId = options.lastEventId
  let retryMs = defaultRetryMs
  let finished = false
  while (!signal.aborted && !finished) {
    const parser = new SseParser()
    try {
      const response = await fetch(`/api/runs/${encodeURIComponent(runId)}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': lastEventId, ...authHeaders() },
        credentials: 'omit',
        cache: 'no-store',
        signal,
      })
      if (!response.ok || !response.body) {
        await response.body?.cancel()
        // A refused token brings the token prompt back, as any other call's 401 does.
        if (response.status === 401) notifyUnauthorized()
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          options.onFatal?.(new Error(`the event stream was refused: HTTP ${response.status}`))
          return
        }
        throw new Error(`HTTP ${response.status}`)
      }
      options.onConnection?.(true)
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (const event of parser.push(value)) {
          if (event.id !== undefined) lastEventId = event.id
          options.onEvent(event)
          if (event.event === 'status' && isFinal(event.data)) finished = true
        }
      }
    } catch {
      // A cut connection, an aborted fetch or a refused one: reconnect below unless we were stopped.
    }
    if (parser.lastId !== undefined) lastEventId = parser.lastId
    if (parser.retryMs !== undefined) retryMs = parser.retryMs
    if (finished || signal.aborted) break
    options.onConnection?.(false)
    await wait(retryMs, signal)
  }
}

function isFinal(data: string): boolean {
  try {
    return (JSON.parse(data) as { status?: string }).status !== 'running'
  } catch {
    return false
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}
