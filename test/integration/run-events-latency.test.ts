import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sseMessages, type SseMessage } from '../../apps/controller/src/cli/sse-messages.js'
import type { RunWindow } from '../../apps/controller/src/http/api-schemas.js'
import type { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { inProcessController } from '../helpers/in-process-controller.js'

/**
 * GET /api/runs/:id/events: every window event carries its latency percentiles (latencyMs), the same
 * as GET /api/runs/:id/windows gives, whether it was sent live or replayed from the store.
 */
describe('run event stream: window events carry latencyMs', () => {
  let target: ChildServer
  let app: FastifyInstance
  let store: SqliteStore
  let stop: () => Promise<void>
  let base: string

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '3')
    ;({ store, app, stop } = inProcessController({ publicRead: true }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await stop()
    await target.stop()
  })

  async function startRun(): Promise<string> {
    const yaml = `name: latency-events
target: { url: "${target.url}/orders" }
load:
  steps: [{ rps: 20, duration: 2s }, { rps: 30, duration: 2s }, { rps: 40, duration: 2s }]
`
    const response = await fetch(`${base}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml }),
    })
    expect(response.status).toBe(201)
    return ((await response.json()) as { id: string }).id
  }

  /** The whole stream, until its final status. */
  async function read(id: string, lastEventId?: string): Promise<SseMessage[]> {
    const response = await fetch(`${base}/api/runs/${id}/events`, {
      headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    })
    expect(response.status).toBe(200)
    const messages: SseMessage[] = []
    for await (const message of sseMessages(response.body as unknown as AsyncIterable<Uint8Array>))
      messages.push(message)
    return messages
  }
  const windowsOf = (messages: SseMessage[]) =>
    messages.filter((m) => m.event === 'window').map((m) => JSON.parse(m.data!) as RunWindow)

  it('live, replayed on a reconnect mid-run, and replayed after the end: the stored percentiles', async () => {
    const id = await startRun()
    // Follows from now on: every window it gets is a live one.
    const live = read(id)
    for (let i = 0; i < 200 && store.windows(id).length < 2; i++) await new Promise((r) => setTimeout(r, 25))
    // Back mid-run from the start: the stored windows replayed, then the rest live.
    const resumed = read(id, '0-0')
    const [liveMessages, resumedMessages] = await Promise.all([live, resumed])
    // After the end: all of it from the store.
    const replayed = windowsOf(await read(id, '0-0'))

    const stored = (await (await fetch(`${base}/api/runs/${id}/windows`)).json()) as RunWindow[]
    expect(stored.map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5])
    const storedLatency = new Map(stored.map((w) => [w.index, w.latencyMs]))
    // The demo target answers in 3 ms: each second has responses and a p99 of at least that.
    for (const w of stored) expect(w.latencyMs.count).toBeGreaterThan(0)
    expect(Math.min(...stored.map((w) => w.latencyMs.p99Ms ?? 0))).toBeGreaterThanOrEqual(3)

    const liveWindows = windowsOf(liveMessages)
    // It joined before the first window ended (a window takes a second; the run was just started).
    expect(liveWindows.length).toBeGreaterThanOrEqual(5)
    for (const windows of [liveWindows, windowsOf(resumedMessages), replayed]) {
      for (const w of windows) expect(w.latencyMs).toEqual(storedLatency.get(w.index))
    }
    expect(windowsOf(resumedMessages).map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5])
    expect(replayed.map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5])
  })
})
