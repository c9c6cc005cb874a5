import { emptyErrorCounts, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { sseMessages, type SseMessage } from '../../apps/controller/src/cli/sse-messages.js'
import { endedRunSummary, posingAgentRig, startAssignedRun } from '../helpers/posing-agent.js'

/**
 * C2: a report whose window histogram was garbage (`latency: "AAAA"`) got a 500, and ~3 s later the
 * merge threw inside the lost-agent timer and the controller process exited. Every window is now
 * checked on arrival: a bad report is refused with 400 problem+json naming the problem, the agent that
 * sent it is named in the run's warnings, the run is degraded, and the process lives on.
 */
describe('C2: a report with a garbage window', () => {
  const secret = 'c2-agent-secret-5d0a'
  const rig = posingAgentRig(secret)

  const heartbeat = (): Promise<Response> =>
    rig.signed('PUT', '/api/agents/forged', { url: rig.agent.url, capacityRps: 1000, runs: [], version: 'forged' })
  const report = (runId: string, windows: unknown[]): Promise<Response> =>
    rig.signed('POST', '/api/agents/forged/reports', { runId, windows })

  const encodedOf = (count: number): string => {
    const h = createLatencyHistogram()
    for (let i = 0; i < count; i++) recordLatencyUs(h, 500)
    return encodeHistogram(h)
  }
  /** Window 0 of step 0 as an agent builds it, 5 planned and answered. */
  const window0 = (overrides: Partial<WindowReport>): WindowReport => ({
    index: 0,
    step: 0,
    startedAt: Date.now(),
    planned: 5,
    sent: 5,
    dispatched: 5,
    dropped: 0,
    ok: 5,
    errors: emptyErrorCounts(),
    latency: encodedOf(5),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: true,
    openConnections: 1,
    ...overrides,
  })

  async function expectRefused(response: Response, problem: RegExp): Promise<void> {
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const body = (await response.json()) as {
      detail: string
      code: string
      problems?: Array<{ path: string; message: string }>
    }
    expect(body.detail).toMatch(/report from agent forged refused/)
    expect(body.problems?.map((p) => `${p.path}: ${p.message}`).join('; ')).toMatch(problem)
  }

  /** Starts a run on the forged agent and resolves once its assignment has reached it. */
  const startRun = (): Promise<string> => startAssignedRun(rig, 'c2', `thresholds: ["p99 < 1s"]\n`)

  /**
   * The run's live events (from its start) until its final status; `opened` once the stream is live
   * (warnings are told live only, so the report waits for it).
   */
  function followUntilEnd(runId: string): { opened: Promise<void>; messages: Promise<SseMessage[]> } {
    let opened!: () => void
    const isOpen = new Promise<void>((resolve) => (opened = resolve))
    const messages = (async () => {
      const response = await fetch(`${rig.c.url}/api/runs/${runId}/events`, {
        headers: { authorization: `Bearer ${rig.c.token}`, 'last-event-id': '0-0' },
        signal: AbortSignal.timeout(20_000),
      })
      expect(response.status).toBe(200)
      const seen: SseMessage[] = []
      for await (const message of sseMessages(response.body as unknown as AsyncIterable<Uint8Array>)) {
        seen.push(message)
        opened()
        if (message.event === 'status' && !message.data!.startsWith('{"status":"running"')) break
      }
      return seen
    })()
    return { opened: Promise.race([isOpen, messages.then(() => undefined)]), messages }
  }

  const summaryOf = (runId: string): Promise<RunSummary> => endedRunSummary(rig.c, runId)

  const refusals: Array<[string, Partial<WindowReport>, RegExp]> = [
    ['a histogram that does not decode', { latency: 'AAAA' }, /\/windows\/0: latency is not a valid histogram/],
    [
      'a histogram whose count is not ok',
      { latency: encodedOf(2) },
      /\/windows\/0: latency histogram holds 2 values but ok is 5/,
    ],
    [
      'a window outside its assignment',
      { index: 99 },
      /\/windows\/0\/index: window 99 is outside this agent's assignment/,
    ],
    [
      'more outcomes than requests sent',
      { dispatched: 3 },
      /\/windows\/0: 5 outcomes .* exceed the 3 requests dispatched/,
    ],
  ]

  it(`refuses each kind of bad window with 400 naming the problem, \
degrades the run and names the agent in it`, async () => {
    expect((await heartbeat()).status).toBe(200)
    // Heartbeats as an agent sends them (it is lost after 3 s of silence).
    const beating = setInterval(() => void heartbeat(), 500)
    try {
      for (const [name, overrides, problem] of refusals) {
        const runId = await startRun()
        // Whoever follows the run hears of the refusal as it happens, with the agent's name.
        const events = followUntilEnd(runId)
        await events.opened
        await expectRefused(await report(runId, [window0(overrides)]), problem)
        const warnings = (await events.messages).filter((m) => m.event === 'warning')
        expect(
          warnings.map((m) => (JSON.parse(m.data!) as { text: string }).text),
          name,
        ).toEqual([expect.stringMatching(/^agent forged sent an invalid report, refused \(/)])
        // Its only agent refused, the run ends, degraded and never passed, with a warning naming the agent.
        const summary = await summaryOf(runId)
        expect(summary.status, name).not.toBe('passed')
        expect(summary.degraded, name).toBe(true)
        expect(summary.warnings.join('\n'), name).toMatch(/agent forged sent an invalid report, refused/)
        expect(summary.agentLosses?.map((l) => [l.agent, l.reason])).toEqual([
          ['forged', expect.stringMatching(/it sent an invalid report/)],
        ])
        // Nothing it sent was stored or merged.
        expect(await (await rig.c.api(`/api/runs/${runId}/windows?agent=forged`)).json()).toEqual([])
        expect(await (await rig.c.api(`/api/runs/${runId}/windows`)).json()).toEqual([])
      }
    } finally {
      clearInterval(beating)
    }
    expect(await rig.c.healthy()).toBe(true)
  }, 60_000)

  it(`counts a report the schema refuses (negative or fractional counters) \
against its run like any bad report`, async () => {
    expect((await heartbeat()).status).toBe(200)
    const beating = setInterval(() => void heartbeat(), 500)
    try {
      for (const overrides of [{ ok: -1 }, { dispatched: 1.5 }] as Array<Partial<WindowReport>>) {
        const runId = await startRun()
        const response = await report(runId, [window0(overrides)])
        expect(response.status).toBe(400)
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
        const summary = await summaryOf(runId)
        expect(summary.status).not.toBe('passed')
        expect(summary.degraded).toBe(true)
        expect(summary.warnings.join('\n')).toMatch(
          /agent forged sent an invalid report, refused \(\/windows\/0\/(ok|dispatched)/,
        )
      }
    } finally {
      clearInterval(beating)
    }
    expect(await rig.c.healthy()).toBe(true)
  }, 60_000)

  it(`takes a window it already stored again as it was, and refuses it with different content \
(the check reads what the store holds)`, async () => {
    expect((await heartbeat()).status).toBe(200)
    const beating = setInterval(() => void heartbeat(), 500)
    try {
      const runId = await startRun()
      const first = window0({})
      expect((await report(runId, [first])).status).toBe(202)
      // The run's only agent delivered second 0: it is merged and stored, no longer waiting in the merge.
      await expect
        .poll(async () => ((await (await rig.c.api(`/api/runs/${runId}/windows`)).json()) as unknown[]).length)
        .toBe(1)
      expect((await report(runId, [first])).status).toBe(202)
      await expectRefused(
        await report(runId, [{ ...first, maxSendLagMs: 7 }]),
        /\/windows\/0: window 0 was already delivered with different content/,
      )
      expect((await summaryOf(runId)).degraded).toBe(true)
      const stored = (await (await rig.c.api(`/api/runs/${runId}/windows?agent=forged`)).json()) as WindowReport[]
      expect(stored.map((w) => [w.index, w.maxSendLagMs])).toEqual([[0, 0]])
    } finally {
      clearInterval(beating)
    }
  }, 60_000)

  it('lives through the lost-agent timer after a garbage report (where the controller used to exit)', async () => {
    expect((await heartbeat()).status).toBe(200)
    const beating = setInterval(() => void heartbeat(), 500)
    let runId: string
    try {
      runId = await startRun()
      await expectRefused(await report(runId, [window0({ latency: 'AAAA' })]), /latency is not a valid histogram/)
    } finally {
      // The agent goes silent, as the one that crashed the controller did.
      clearInterval(beating)
    }
    let state = ''
    for (let i = 0; i < 100 && state !== 'lost'; i++) {
      state =
        ((await (await rig.c.api('/api/agents')).json()) as Array<{ name: string; state: string }>).find(
          (a) => a.name === 'forged',
        )?.state ?? ''
      if (state !== 'lost') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(state).toBe('lost')
    expect((await summaryOf(runId)).status).not.toBe('passed')
    expect(await rig.c.healthy()).toBe(true)
  }, 60_000)
})
