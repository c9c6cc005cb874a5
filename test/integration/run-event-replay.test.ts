import type { Decision, WindowReport } from '@gauntlet/contracts'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sseMessages, type SseMessage } from '../../apps/controller/src/cli/sse-messages.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { inProcessController } from '../helpers/in-process-controller.js'

/** GET /api/runs/:id/events with Last-Event-ID: a client that lost its stream gets what it missed, once. */
describe('run event stream: Last-Event-ID replay', () => {
  let target: ChildServer
  let app: FastifyInstance
  let store: SqliteStore
  let stopController: () => Promise<void>
  let base: string

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
    ;({ store, app, stop: stopController } = inProcessController({ publicRead: true }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await stopController()
    await target.stop()
  })

  // Three steps of 2 s: six windows and a threshold decision at the end of each step. Few sends a
  // second: a step of two windows with one generator-limited second stops the run (as it should), and
  // at 20 rps a loaded CI machine's 70 ms stall was enough; at 4-8 rps it takes a stall of 250 ms or more.
  const scenario = (): string => `name: replay
target: { url: "${target.url}/orders" }
load:
  steps: [{ rps: 4, duration: 2s }, { rps: 6, duration: 2s }, { rps: 8, duration: 2s }]
thresholds: [p99 < 1s]
`
  async function startRun(): Promise<string> {
    const response = await fetch(`${base}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: scenario() }),
    })
    expect(response.status).toBe(201)
    return ((await response.json()) as { id: string }).id
  }

  /** Reads the stream from `lastEventId` until `stop` says so (or it ends); the connection is then closed. */
  async function read(
    id: string,
    lastEventId: string | undefined,
    stop: (messages: SseMessage[]) => boolean = () => false,
  ): Promise<SseMessage[]> {
    const abort = new AbortController()
    const response = await fetch(`${base}/api/runs/${id}/events`, {
      headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
      signal: abort.signal,
    })
    expect(response.status).toBe(200)
    const messages: SseMessage[] = []
    try {
      for await (const message of sseMessages(response.body as unknown as AsyncIterable<Uint8Array>)) {
        messages.push(message)
        if (stop(messages)) break
      }
    } finally {
      abort.abort()
    }
    return messages
  }
  const windowsOf = (messages: SseMessage[]) =>
    messages.filter((m) => m.event === 'window').map((m) => (JSON.parse(m.data!) as WindowReport).index)
  const decisionsOf = (messages: SseMessage[]) =>
    messages.filter((m) => m.event === 'decision').map((m) => JSON.parse(m.data!) as Decision)
  const finalStatuses = (messages: SseMessage[]) =>
    messages.filter((m) => m.event === 'status' && !m.data!.startsWith('{"status":"running"'))

  it(`a client cut mid-run and back with its last id gets every window \
and decision exactly once, then the verdict`, async () => {
    const id = await startRun()
    // The first connection asks for the run from its start and is cut after its second window.
    const first = await read(id, '0-0', (messages) => windowsOf(messages).length === 2)
    expect(first[0]).toMatchObject({ event: 'status', retry: 1000 })
    expect(windowsOf(first)).toEqual([0, 1])
    const lastId = first.filter((m) => m.id !== undefined).at(-1)!.id!
    expect(lastId).toMatch(/^2-\d+$/)
    // While it is away the run goes on; back with its last id, it gets the rest.
    const second = await read(id, lastId)
    const windows = [...windowsOf(first), ...windowsOf(second)]
    expect(windows).toEqual([0, 1, 2, 3, 4, 5])
    const decisions = [...decisionsOf(first), ...decisionsOf(second)]
    expect(decisions).toEqual(store.decisions(id))
    expect(decisions.map((d) => d.step)).toEqual([0, 1, 2])
    expect(finalStatuses(first)).toEqual([])
    expect(finalStatuses(second)).toHaveLength(1)
    expect(JSON.parse(finalStatuses(second)[0]!.data!)).toMatchObject({
      status: 'passed',
      summary: { verdict: 'pass' },
    })
    // Each window's stream id is the position after it: a reconnect from any of them resumes there.
    expect(second.filter((m) => m.event === 'window').map((m) => m.id!.split('-')[0])).toEqual(['3', '4', '5', '6'])
  })

  it(`a finished run: a client back with its last id gets what it missed \
and the final status; a new client the status only`, async () => {
    const id = await startRun()
    const all = await read(id, '0-0')
    expect(windowsOf(all)).toEqual([0, 1, 2, 3, 4, 5])
    expect(finalStatuses(all)).toHaveLength(1)
    // Replayed from the store after the end, from the middle of step 2 (window 3, one decision seen).
    const resumed = await read(id, '3-1')
    expect(windowsOf(resumed)).toEqual([3, 4, 5])
    expect(decisionsOf(resumed)).toEqual(store.decisions(id).slice(1))
    expect(resumed.at(-1)).toMatchObject({ event: 'status', id: '6-3' })
    expect(finalStatuses(resumed)).toHaveLength(1)
    // Decisions come where they were taken: step 1's after window 3 (its last), step 2's after window 5.
    expect(resumed.filter((m) => m.event !== 'status').map((m) => m.event)).toEqual([
      'window',
      'decision',
      'window',
      'window',
      'decision',
    ])
    const fresh = await read(id, undefined)
    expect(fresh.map((m) => m.event)).toEqual(['status'])
    // Nothing missed: the final status alone.
    expect((await read(id, '6-3')).map((m) => m.event)).toEqual(['status'])
  })

  it('refuses a Last-Event-ID this stream never sent (400, before any stream slot is taken)', async () => {
    const id = await startRun()
    const response = await fetch(`${base}/api/runs/${id}/events`, { headers: { 'last-event-id': 'window-7' } })
    expect(response.status).toBe(400)
    expect(((await response.json()) as { detail: string }).detail).toMatch(/Last-Event-ID "window-7"/)
    await read(id, '0-0')
  })
})
