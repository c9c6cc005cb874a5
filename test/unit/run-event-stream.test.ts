import type { Decision, WindowReport } from '@gauntlet/contracts'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { sseMessages } from '../../apps/controller/src/cli/sse-messages.js'
import { streamRunEvents, type RunEventStreamDeps } from '../../apps/controller/src/http/run-event-stream.js'
import type { RunEvent } from '../../apps/controller/src/run/run-manager.js'
import type { StoredRun } from '../../apps/controller/src/storage/run-store.js'

/** What a response was sent, as the CLI reads it. */
class RecordedResponse extends EventEmitter {
  text = ''
  writableEnded = false
  destroyed = false
  write(chunk: string): boolean {
    this.text += chunk
    return true
  }
  end(): void {
    this.writableEnded = true
  }
  async messages() {
    const all = []
    for await (const message of sseMessages([new TextEncoder().encode(this.text)])) all.push(message)
    return all
  }
}

const window = (index: number): WindowReport => ({ index, startedAt: 1_000_000 + index * 1000 }) as WindowReport
const decision = (step: number, atIndex: number): Decision =>
  ({ step, at: new Date(1_000_000 + atIndex * 1000 + 1500).toISOString() }) as Decision
const run = { id: 'r1', status: 'running', summary: null } as unknown as StoredRun

/** A run whose store and live events the test drives: `saveAndPublish` is what executeRun does. */
function fakeRun(windows: WindowReport[], decisions: Decision[]) {
  let listener: ((event: RunEvent) => void) | undefined
  let onPage: (() => void) | undefined
  const deps: RunEventStreamDeps = {
    runs: { subscribe: (_, l) => ((listener = l), () => (listener = undefined)) },
    queries: {
      find: () => run,
      decisions: () => [...decisions],
      windowReports: (_, from) => {
        onPage?.()
        onPage = undefined
        const page = windows.filter((w) => w.index >= from)
        return { reports: page.map((w) => JSON.stringify(w)), next: null }
      },
      liveWindowJson: (_, w) => JSON.stringify(w),
    },
  }
  return {
    deps,
    publish: (event: RunEvent) => listener?.(event),
    saveAndPublishWindow: (w: WindowReport) => {
      windows.push(w)
      listener?.({ type: 'window', runId: run.id, window: w })
    },
    duringCatchUp: (work: () => void) => (onPage = work),
  }
}

describe('run event stream: catch-up then live, none twice', () => {
  it('a window stored and published while the client is being caught up is sent once, in order', async () => {
    const stored = [window(0), window(1), window(2)]
    const fake = fakeRun(stored, [decision(0, 1)])
    // Window 3 arrives while the store is read: it is both in the page and among the live events.
    fake.duringCatchUp(() => fake.saveAndPublishWindow(window(3)))
    const raw = new RecordedResponse()
    await streamRunEvents(raw as unknown as ServerResponse, fake.deps, run, { windows: 1, decisions: 0 }, [])
    fake.saveAndPublishWindow(window(4))
    fake.publish({ type: 'decision', runId: run.id, decision: decision(1, 4) })
    fake.publish({ type: 'status', runId: run.id, status: 'passed' })
    const messages = await raw.messages()
    expect(messages.map((m) => `${m.event}@${m.id}`)).toEqual([
      'status@1-0',
      'window@2-0',
      'decision@2-1',
      'window@3-1',
      'window@4-1',
      'window@5-1',
      'decision@5-2',
      'status@5-2',
    ])
    expect(raw.writableEnded).toBe(true)
  })

  it('a new client gets live events only, with ids from its first window on', async () => {
    const fake = fakeRun([window(0), window(1)], [decision(0, 1)])
    const raw = new RecordedResponse()
    await streamRunEvents(raw as unknown as ServerResponse, fake.deps, run, undefined, [])
    fake.saveAndPublishWindow(window(2))
    fake.publish({ type: 'status', runId: run.id, status: 'failed' })
    expect((await raw.messages()).map((m) => `${m.event}@${m.id ?? ''}`)).toEqual([
      'status@',
      'window@3-1',
      'status@3-1',
    ])
  })

  it('ends the stream of a run stored as running that no one carries (left by a crash), after its status', async () => {
    const fake = fakeRun([window(0)], [])
    // Not running here: subscribe finds no live run.
    fake.deps.runs = { subscribe: () => undefined }
    for (const from of [undefined, { windows: 0, decisions: 0 }]) {
      const raw = new RecordedResponse()
      await streamRunEvents(raw as unknown as ServerResponse, fake.deps, run, from, [])
      const messages = await raw.messages()
      expect(messages.at(-1)).toMatchObject({ event: 'status', data: '{"status":"running","summary":null}' })
      expect(raw.writableEnded).toBe(true)
    }
  })
})
