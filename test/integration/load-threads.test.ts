import type { PlannedStep, WindowReport } from '@gauntlet/contracts'
import {
  parseTargetAllowList,
  startLoadInWorker,
  startLoadInWorkers,
  type ConnectionTarget,
  type LoadPlan,
  type WorkerLoadRun,
} from '@gauntlet/agent'
import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { startChildServer, type ChildServer } from '../helpers/child-server.js'

const arrivalServer = new URL('../helpers/arrival-server.mjs', import.meta.url).pathname
const loopback = parseTargetAllowList('127.0.0.1')

function planFor(url: string, steps: PlannedStep[], path = '/n'): LoadPlan {
  const u = new URL(url)
  const target: ConnectionTarget = {
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: '/',
    method: 'GET',
    headers: {},
  }
  // Every send carries its {{ seq }}: the server's log shows which sends arrived, and how often.
  const mix = [{ name: 'numbered', weight: 1, method: 'GET', path: `${path}?seq={{ seq }}`, headers: {} }]
  return { target, steps, timeoutMs: 5000, maxConnections: 1000, mix }
}

/** The names of this process's threads that are load threads, as `top -H` and bench/cost.mjs see them (Linux). */
function loadThreadNames(): string[] {
  return readdirSync('/proc/self/task')
    .map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim())
    .filter((name) => name.startsWith('gauntlet-load'))
    .sort()
}

async function serverLog(server: ChildServer): Promise<{ arrivals: number[]; seqs: number[] }> {
  const arrivals = (await (await fetch(`${server.url}/__arrivals`)).json()) as number[]
  const paths = (await (await fetch(`${server.url}/__paths`)).json()) as string[]
  return { arrivals, seqs: paths.map((path) => Number(new URL(path, server.url).searchParams.get('seq'))) }
}

describe('an agent with two load threads', () => {
  let server: ChildServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('sends every planned request exactly once, evenly, and reports one merged window per second', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const rps = 1000
    const windows: WindowReport[] = []
    const starts: number[] = []
    let threadNames: string[] = []
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps, durationS: 3, step: 0 }]),
      {
        onWindow: (w) => {
          windows.push(w)
          if (w.index === 0) threadNames = loadThreadNames()
        },
        onStart: (epochMs) => starts.push(epochMs),
      },
      2,
      loopback,
    )
    const result = await run.result
    expect(result.aborted).toBe(false)
    expect(result.peakConnections).toBeGreaterThanOrEqual(2)
    expect(starts).toHaveLength(1)
    // Each load thread names itself by its lane, so per-thread CPU can be told apart from V8's helpers.
    expect(threadNames).toEqual(['gauntlet-load-0', 'gauntlet-load-1'])

    expect(windows.map((w) => w.index)).toEqual([0, 1, 2])
    for (const w of windows) {
      expect(w).toMatchObject({ planned: rps, dispatched: rps, ok: rps, dropped: 0, complete: true })
      expect(w).not.toHaveProperty('agents')
    }
    expect(windows.reduce((n, w) => n + w.sent, 0)).toBe(3 * rps)

    const { arrivals, seqs } = await serverLog(server)
    // Every planned send arrived once: the two threads' {{ seq }} are 0…2999, none twice.
    expect(arrivals).toHaveLength(3 * rps)
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 3 * rps }, (_, i) => i))
    // The threads' sends interleave: no 100 ms slice seen by the server carries over 1.5x its share.
    const slices = new Array<number>(30).fill(0)
    for (const t of arrivals) slices[Math.min(29, Math.floor(t / 100))]! += 1
    console.log(`2 threads at ${rps} rps: 100 ms slices min ${Math.min(...slices)} max ${Math.max(...slices)}`)
    expect(Math.max(...slices)).toBeLessThanOrEqual(1.5 * (rps / 10))
    // As the one-thread pacing test: the first second pays the threads' warm-up, judged from the second on.
    for (const w of windows.filter((w) => w.generatorLimited))
      console.log(`window ${w.index} generator-limited (${w.lateSends} late, max lag ${w.maxSendLagMs} ms)`)
    expect(windows.slice(1).every((w) => !w.generatorLimited)).toBe(true)
  })

  it("with a planned start (a remote agent's), both threads start at it and share its timeline", async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const startAtEpochMs = Date.now() + 500
    const windows: WindowReport[] = []
    const starts: number[] = []
    const run = startLoadInWorkers(
      { ...planFor(server.url, [{ rps: 300, durationS: 2, step: 0 }]), startAtEpochMs },
      { onWindow: (w) => windows.push(w), onStart: (epochMs) => starts.push(epochMs) },
      2,
      loopback,
    )
    await run.result
    expect(starts).toEqual([startAtEpochMs])
    expect(windows.map((w) => [w.index, w.planned, w.dispatched, w.complete])).toEqual([
      [0, 300, 300, true],
      [1, 300, 300, true],
    ])
    const { seqs } = await serverLog(server)
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 600 }, (_, i) => i))
  })

  it('a replan reaches both threads: the later seconds carry the new rate, split between them', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const windows: WindowReport[] = []
    let replanned: Promise<boolean> | undefined
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps: 200, durationS: 4, step: 0 }]),
      {
        onWindow: (w) => windows.push(w),
        onStart: () => {
          replanned = run.replan(2, [{ rps: 401, durationS: 2, step: 1 }])
        },
      },
      2,
      loopback,
    )
    await run.result
    expect(await replanned).toBe(true)
    expect(windows.map((w) => [w.index, w.step, w.planned, w.dispatched])).toEqual([
      [0, 0, 200, 200],
      [1, 0, 200, 200],
      [2, 1, 401, 401],
      [3, 1, 401, 401],
    ])
    expect((await serverLog(server)).arrivals).toHaveLength(200 + 200 + 401 + 401)
  })

  it('a consumer that throws stops both threads and rejects the run, instead of hanging', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    let calls = 0
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps: 100, durationS: 30, step: 0 }]),
      {
        onWindow: () => {
          calls++
          throw new Error('storage is full')
        },
      },
      2,
      loopback,
    )
    await expect(run.result).rejects.toThrow('storage is full')
    expect(calls).toBe(1)
    // Both threads stopped: nothing near the 30 s plan reached the server.
    expect((await serverLog(server)).arrivals.length).toBeLessThan(1000)
  })

  it('an abort stops both threads; the windows that started are reported once each, in order', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const stop = new AbortController()
    const windows: WindowReport[] = []
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps: 100, durationS: 30, step: 0 }]),
      {
        signal: stop.signal,
        onWindow: (w) => {
          windows.push(w)
          if (w.index === 1) stop.abort()
        },
      },
      2,
      loopback,
    )
    const result = await run.result
    expect(result.aborted).toBe(true)
    const indices = windows.map((w) => w.index)
    expect(indices).toEqual(indices.map((_, i) => i))
    expect(indices.length).toBeGreaterThanOrEqual(2)
    expect(indices.length).toBeLessThan(30)
  })

  it('a thread that dies mid-run fails the run, naming it, once the other thread has stopped and handed on its last second', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const windows: WindowReport[] = []
    let settled = false
    let doomed: WorkerLoadRun | undefined
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps: 200, durationS: 30, step: 0 }]),
      {
        onWindow: (w) => {
          expect(settled).toBe(false)
          windows.push(w)
        },
      },
      2,
      loopback,
      {
        // Thread 2's worker is killed as it hands on its window of second 1: a crash in the middle of second 2.
        start: (threadPlan, options, allow) => {
          if (threadPlan.lane?.index !== 1) return startLoadInWorker(threadPlan, options, allow)
          doomed = startLoadInWorker(
            threadPlan,
            {
              ...options,
              onWindow: (w) => {
                options.onWindow(w)
                if (w.index === 1) doomed!.terminate()
              },
            },
            allow,
          )
          return doomed
        },
      },
    )
    await expect(run.result).rejects.toThrow(/^load thread 2 of 2 failed: internal error in the load generator$/)
    settled = true
    // Thread 1 was stopped, and the second it was in when thread 2 died is still reported (incomplete),
    // before the run settled: nothing of it is lost or arrives after.
    expect(windows.map((w) => w.index)).toEqual(windows.map((_, i) => i))
    expect(windows[0]!.complete).toBe(true)
    expect(windows.length).toBeGreaterThanOrEqual(3)
    expect(windows.length).toBeLessThan(10)
    expect(windows.at(-1)!.complete).toBe(false)
  })

  it('a thread that does not answer a stop is terminated after the grace: the run says so, nothing of it arrives after, the next load runs', async () => {
    server = await startChildServer(process.execPath, [arrivalServer])
    const stop = new AbortController()
    const windows: WindowReport[] = []
    let settled = false
    const run = startLoadInWorkers(
      planFor(server.url, [{ rps: 100, durationS: 30, step: 0 }], '/first'),
      {
        signal: stop.signal,
        onWindow: (w) => {
          expect(settled).toBe(false)
          windows.push(w)
          if (w.index === 1) stop.abort()
        },
      },
      2,
      loopback,
      {
        stopGraceMs: 500,
        // Thread 2 never hears the stop: it goes on sending until it is terminated.
        start: (threadPlan, options, allow) => {
          if (threadPlan.lane?.index !== 1) return startLoadInWorker(threadPlan, options, allow)
          return startLoadInWorker(threadPlan, { ...options, signal: new AbortController().signal }, allow)
        },
      },
    )
    let stoppedAt = 0
    stop.signal.addEventListener('abort', () => (stoppedAt = Date.now()))
    await expect(run.result).rejects.toThrow(
      /^load thread 2 of 2 did not stop within 0\.5 s of being asked and was terminated$/,
    )
    const settledAt = Date.now()
    settled = true
    expect(settledAt - stoppedAt).toBeGreaterThanOrEqual(490)
    expect(settledAt - stoppedAt).toBeLessThan(5000)
    expect(windows.map((w) => w.index)).toEqual(windows.map((_, i) => i))

    // The process goes on: the next load on two threads runs whole (it also gives a terminated thread
    // time to show itself, were it still sending).
    const next = startLoadInWorkers(
      planFor(server.url, [{ rps: 200, durationS: 1, step: 0 }], '/next'),
      { onWindow: () => {} },
      2,
      loopback,
    )
    expect(await next.result).toMatchObject({ aborted: false })
    const epochs = (await (await fetch(`${server.url}/__epoch-arrivals`)).json()) as number[]
    const paths = (await (await fetch(`${server.url}/__paths`)).json()) as string[]
    const first = epochs.filter((_, i) => paths[i]!.startsWith('/first'))
    expect(paths.filter((path) => path.startsWith('/next'))).toHaveLength(200)
    // At 50 rps per thread a thread still sending would arrive every 20 ms; the slack is the server's own lag.
    expect(Math.max(...first) - settledAt).toBeLessThan(250)
  })
})
