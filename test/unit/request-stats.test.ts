import { emptyErrorCounts, GauntletError, type RequestCounts, type WindowReport } from '@gauntlet/contracts'
import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { describe, expect, it } from 'vitest'
import { mergeWindows } from '../../apps/controller/src/agents/window-merge.js'
import { checkReport, windowProblems } from '../../apps/controller/src/agents/report-check.js'
import { requestWindow } from '../../apps/controller/src/decision/request-view.js'
import { RunDecisions } from '../../apps/controller/src/decision/run-decisions.js'
import { judgeStep } from '../../apps/controller/src/decision/step-judgement.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { parseThreshold, type Threshold } from '../../apps/controller/src/scenario/thresholds.js'

const histogram = (latenciesMs: number[]): string => {
  const h = createLatencyHistogram()
  for (const ms of latenciesMs) recordLatencyUs(h, ms * 1000)
  return encodeHistogram(h)
}

/** A request's share of a window: `ok` answers at `ms`, and `failed` 503s. */
const counts = (ok: number, ms: number, failed = 0): RequestCounts => ({
  dispatched: ok + failed,
  ok,
  errors: { ...emptyErrorCounts(), status: failed > 0 ? { '503': failed } : {} },
  latency: histogram(Array<number>(ok).fill(ms)),
})

/** A window of a two-request mix: 70 fast browses, 30 slow orders of which `failedOrders` fail. */
function window(index: number, failedOrders = 0): WindowReport {
  const browse = counts(70, 10)
  const order = counts(30 - failedOrders, 900, failedOrders)
  return {
    index,
    step: 0,
    startedAt: 1_700_000_000_000 + index * 1000,
    planned: 100,
    sent: 100,
    dispatched: 100,
    dropped: 0,
    ok: 100 - failedOrders,
    errors: { ...emptyErrorCounts(), status: failedOrders > 0 ? { '503': failedOrders } : {} },
    latency: histogram([...Array<number>(70).fill(10), ...Array<number>(30 - failedOrders).fill(900)]),
    lateSends: 0,
    maxSendLagMs: 0,
    generatorLimited: false,
    complete: true,
    openConnections: 4,
    requests: { browse, 'create-order': order },
  }
}

const thresholds = (...sources: string[]): Threshold[] =>
  sources.map((s) => {
    const parsed = parseThreshold(s)
    if (!parsed.ok) throw new Error(parsed.message)
    return parsed.threshold
  })

describe('per-request statistics of a mix', () => {
  it('judges a threshold on one request by that request alone, and summarizes each request', () => {
    const windows = Array.from({ length: 10 }, (_, i) => window(i, i === 9 ? 3 : 0))
    const step = judgeStep(
      { index: 0, rps: 100, startS: 0, durationS: 10, warmupS: 0 },
      windows,
      thresholds('p50 < 50ms', 'p50{request=create-order} < 500ms', 'error_rate{request=browse} < 1%'),
    )
    // The mix's median is a browse (10 ms); the orders' own median is 900 ms: that threshold fails.
    expect(step.thresholds.map((t) => [t.threshold, t.observed !== null && Math.round(t.observed), t.pass])).toEqual([
      ['p50 < 50ms', 10, true],
      ['p50{request=create-order} < 500ms', 900, false],
      ['error_rate{request=browse} < 1%', 0, true],
    ])
    expect(step.verdict).toBe('fail')
    expect(step.requests?.browse).toMatchObject({ sent: 700, completed: 700, errors: 0, errorRate: 0 })
    expect(step.requests?.['create-order']).toMatchObject({ sent: 300, completed: 300, errors: 3, errorRate: 0.01 })
    expect(Math.round(step.requests!['create-order']!.p50Ms!)).toBe(900)
  })

  it('merges each request across agents, as the window is merged', () => {
    const frame = { index: 0, step: 0, planned: 200, startedAt: 0 }
    const merged = mergeWindows(frame, [window(0), window(0, 5)], [])
    expect(merged.requests?.browse).toMatchObject({ dispatched: 140, ok: 140 })
    expect(merged.requests?.['create-order']).toMatchObject({
      dispatched: 60,
      ok: 55,
      errors: { status: { '503': 5 } },
    })
    expect(requestWindow(merged, 'create-order')).toMatchObject({ dispatched: 60, ok: 55, planned: 60 })
    // The merged counts still add up (the fields only a merge sets aside).
    const asAgentWould = { ...merged }
    delete asAgentWould.agents
    delete asAgentWould.skewMs
    expect(windowProblems(asAgentWould)).toEqual([])
    // No request of that name in this window: an empty one, not the whole window.
    expect(requestWindow(merged, 'checkout')).toMatchObject({ dispatched: 0, ok: 0 })
  })

  it("refuses an agent's per-request counts that do not add up to its window", () => {
    const w = window(0)
    expect(windowProblems({ ...w, requests: { ...w.requests, browse: counts(69, 10) } }).join('; ')).toMatch(
      /the requests' dispatched add up to 99, not the window's 100; the requests' ok add up to 99/,
    )
    expect(
      windowProblems({ ...w, requests: { ...w.requests, browse: { ...counts(70, 10), latency: histogram([1]) } } }),
    ).toEqual(['request browse: latency histogram holds 1 values but ok is 70'])
  })
})

describe('guards on one request of a mix', () => {
  const load = (decision: string) =>
    parseScenario(`name: g
target: { url: "http://127.0.0.1:9" }
requests: [{ name: browse, path: /b, weight: 7 }, { name: create-order, path: /o, weight: 3 }]
load: { steps: [{ rps: 100, duration: 60s }] }
decision:
  guards:
${decision}`)

  it('trips on the failing request alone, while the mix as a whole would hold', () => {
    const scenario =
      load(`    - { name: orders, kind: abort, require: "error_rate{request=create-order} < 5%", minSamples: 100 }
    - { name: all, kind: abort, require: "error_rate < 30%", minSamples: 100 }`)
    const decisions = new RunDecisions(scenario.decision!, { stepStartS: () => 0, now: () => new Date() })
    // 15 of 30 orders fail: half the orders, 15% of the mix.
    const outcome = decisions.onWindow(window(0, 15))
    expect(outcome.decisions.map((d) => [d.guard, d.verdict])).toEqual([
      ['orders', 'fail'],
      ['all', 'pass'],
    ])
    expect(outcome.rollback?.guard).toBe('orders')
  })

  it('refuses a request the mix does not have, and a clear condition on another request', () => {
    const problems = (decision: string): string => {
      try {
        load(decision)
      } catch (error) {
        return ((error as GauntletError).problems ?? []).map((p) => `${p.path}: ${p.message}`).join('\n')
      }
      return ''
    }
    expect(problems(`    - { name: x, kind: abort, require: "p99{request=checkout} < 1s" }`)).toMatch(
      /\/decision\/guards\/0\/require: no request is named "checkout"; the requests are browse, create-order/,
    )
    expect(
      problems(
        `    - { name: x, kind: slo, require: "p99{request=browse} < 1s", clear: { k: 2, require: "p99 < 500ms" } }`,
      ),
    ).toMatch(/\/decision\/guards\/0\/clear\/require: clear on the request the guard trips on/)
  })
})

describe('request names that are also Object.prototype keys', () => {
  it('a request named "constructor" is counted and viewed as any other name', () => {
    const w = window(0)
    const named: WindowReport = {
      ...w,
      requests: { constructor: w.requests!.browse!, toString: w.requests!['create-order']! },
    }
    expect(requestWindow(named, 'constructor')).toMatchObject({ dispatched: 70, ok: 70 })
    expect(requestWindow(w, 'constructor')).toMatchObject({ dispatched: 0, ok: 0 })
    expect(requestWindow(w, 'hasOwnProperty')).toMatchObject({ dispatched: 0, ok: 0 })
  })
})

describe("an agent report's requests", () => {
  const expectation = (requestNames?: string[]) => ({
    stepsAt: () => [0],
    delivered: () => undefined,
    ...(requestNames ? { requestNames } : {}),
  })
  it('are only those of the mix (checked before any histogram is decoded)', () => {
    expect(checkReport([window(0)], expectation(['browse', 'create-order']))).toEqual([])
    expect(checkReport([window(0)], expectation(['browse']))).toEqual([
      { path: '/windows/0/requests', message: '"create-order" is not a request of this run' },
    ])
    expect(checkReport([window(0)], expectation())).toEqual([
      { path: '/windows/0/requests', message: '"browse" is not a request of this run' },
    ])
  })
})
