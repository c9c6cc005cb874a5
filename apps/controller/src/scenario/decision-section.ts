import { parseDurationMs, type DecisionDocument, type GuardDocument, type ReportProblem } from '@gauntlet/contracts'
import {
  decisionDefaults,
  tighter,
  type Condition,
  type DecisionConfig,
  type GuardConfig,
  type LeakGuardConfig,
} from '../decision/guard-config.js'
import { wholeSeconds } from './duration.js'
import { parseChange, parseGrowth, parseThreshold } from './thresholds.js'

/**
 * The `decision:` section in engine units, with the rules JSON Schema cannot state: the condition
 * grammar per guard kind, unique names, trip and clear arithmetic, a baseline that can exist.
 */
export function buildDecision(
  doc: DecisionDocument,
  context: {
    loadWarmupS: number
    stepDurationsS: readonly number[]
    faultCount: number
    targetSeries: readonly string[] | undefined
    /** The names of the scenario's requests: mix, which `{request=<name>}` may select. */
    requestNames?: readonly string[]
  },
  add: ReportProblem,
): DecisionConfig | undefined {
  let ok = true
  const problem = (path: string, message: string): void => {
    ok = false
    add(path, message)
  }
  const seconds = (text: string | undefined, path: string, fallback: number): number => {
    if (text === undefined) return fallback
    const s = wholeSeconds(parseDurationMs(text)!, path, problem)
    return s ?? fallback
  }
  const names = new Set<string>()
  const guards: GuardConfig[] = []
  const leaks: LeakGuardConfig[] = []
  ;(doc.guards ?? []).forEach((guard, i) => {
    const path = `/decision/guards/${i}`
    if (names.has(guard.name)) problem(`${path}/name`, `another guard is already named "${guard.name}"`)
    names.add(guard.name)
    if (guard.kind === 'leak') {
      const leak = buildLeakGuard(guard, path, context.targetSeries, problem)
      if (leak) leaks.push(leak)
      return
    }
    const built = buildGuard(guard, path, context.faultCount, problem, seconds)
    for (const [condition, where] of [
      [built?.require, `${path}/require`],
      [built?.clearRequire, `${path}/clear/require`],
    ] as const) {
      const request = condition && 'request' in condition ? condition.request : undefined
      if (request === undefined || context.requestNames?.includes(request)) continue
      problem(
        where,
        context.requestNames?.length
          ? `no request is named "${request}"; the requests are ${context.requestNames.join(', ')}`
          : `{request=${request}} selects a request of a requests: mix, and this scenario has none`,
      )
    }
    const requestOf = (c: Condition | undefined) => (c && 'request' in c ? c.request : undefined)
    if (built && requestOf(built.require) !== requestOf(built.clearRequire))
      problem(`${path}/clear/require`, 'clear on the request the guard trips on (the same {request=...})')
    if (built) guards.push(built)
  })
  const warmupS = seconds(doc.step?.warmup, '/decision/step/warmup', context.loadWarmupS)
  const tooShort = context.stepDurationsS.findIndex((d) => warmupS >= d)
  if (tooShort >= 0)
    problem(
      '/decision/step/warmup',
      `warmup (${warmupS}s) must be shorter than every step (step ${tooShort + 1} ` +
        `lasts ${context.stepDurationsS[tooShort]}s)`,
    )
  const maxHoldS = seconds(doc.step?.maxHold, '/decision/step/maxHold', decisionDefaults.maxHoldS)
  if (!ok) return undefined
  return {
    guards,
    leaks,
    warmupS,
    promoteAfter: doc.step?.promoteAfter ?? decisionDefaults.promoteAfter,
    maxHoldS,
    insufficient: doc.insufficient ?? 'pass',
  }
}

function buildGuard(
  guard: GuardDocument,
  path: string,
  faultCount: number,
  problem: ReportProblem,
  seconds: (text: string | undefined, path: string, fallback: number) => number,
): GuardConfig | undefined {
  const baseline = guard.kind === 'baseline'
  const require = parseCondition(guard.require, baseline, `${path}/require`, problem)
  if (baseline && guard.vs === undefined)
    problem(
      `${path}/vs`,
      'a baseline guard says what it compares with: vs: prefault (this run before its first fault) or vs: ' +
        'runs (past passing runs)',
    )
  if (!baseline && guard.vs !== undefined) problem(`${path}/vs`, 'vs applies to kind: baseline only')
  if (guard.vs === 'prefault' && faultCount === 0)
    problem(`${path}/vs`, 'vs: prefault compares with this run before its first fault, but the scenario has no faults')
  if (guard.runs !== undefined && guard.vs !== 'runs') problem(`${path}/runs`, 'runs applies to vs: runs only')
  if (guard.kind === 'abort' && guard.trip)
    problem(`${path}/trip`, 'an abort guard trips on its first FAIL window; use kind: slo for m of n')
  if (guard.kind === 'abort' && guard.clear)
    problem(`${path}/clear`, 'an abort guard never clears; use kind: slo for hysteresis')
  if (guard.trip && guard.trip.m > guard.trip.n)
    problem(`${path}/trip/m`, `m (${guard.trip.m}) cannot exceed n (${guard.trip.n})`)
  const clearRequire =
    guard.clear?.require === undefined
      ? require
        ? tighter(require)
        : undefined
      : parseCondition(guard.clear.require, baseline, `${path}/clear/require`, problem)
  if (require && clearRequire && guard.clear?.require !== undefined) {
    const healthySmall = require.operator === '<' || require.operator === '<='
    const relative = (c: Condition): boolean => 'relative' in c && c.relative
    if (clearRequire.metric !== require.metric)
      problem(
        `${path}/clear/require`,
        `clears on ${clearRequire.metric} but trips on ${require.metric}; use the same metric`,
      )
    else if (relative(clearRequire) !== relative(require))
      problem(
        `${path}/clear/require`,
        `give the clear condition in the same unit as require ("${guard.require}"), so the two limits compare`,
      )
    else if (healthySmall ? clearRequire.limit > require.limit : clearRequire.limit < require.limit)
      problem(
        `${path}/clear/require`,
        `the clear condition must be at least as strict as require ("${guard.require}"), so a guard cannot flap`,
      )
  }
  const maxWindowS = seconds(guard.maxWindow, `${path}/maxWindow`, decisionDefaults.maxSpanS)
  if (maxWindowS < 1) problem(`${path}/maxWindow`, 'an evaluation window lasts at least 1s')
  if (!require || !clearRequire) return undefined
  return {
    name: guard.name,
    kind: guard.kind,
    require,
    clearRequire,
    minSamples: guard.minSamples ?? decisionDefaults.minSamples,
    maxSpanS: maxWindowS,
    trip:
      guard.kind === 'abort'
        ? { m: 1, n: 1 }
        : (guard.trip ?? (guard.kind === 'slo' ? { ...decisionDefaults.sloTrip } : { m: 1, n: 1 })),
    clearK: guard.kind === 'abort' ? null : (guard.clear?.k ?? decisionDefaults.clearK),
    ...(guard.vs ? { vs: guard.vs } : {}),
    runs: guard.runs ?? decisionDefaults.runs,
    dryRun: guard.dryRun ?? false,
  }
}

/** A leak guard judges a series of targetMetrics once the load is over: windows, trips and baselines do not apply. */
function buildLeakGuard(
  guard: GuardDocument,
  path: string,
  targetSeries: readonly string[] | undefined,
  problem: ReportProblem,
): LeakGuardConfig | undefined {
  for (const key of ['minSamples', 'maxWindow', 'trip', 'clear', 'vs', 'runs'] as const) {
    if (guard[key] !== undefined)
      problem(
        `${path}/${key}`,
        `${key} does not apply to a leak guard (it judges the whole run's series once the load is over)`,
      )
  }
  const parsed = parseGrowth(guard.require)
  if (!parsed.ok) {
    problem(`${path}/require`, parsed.message)
    return undefined
  }
  if (!targetSeries) {
    problem(
      `${path}/require`,
      `a leak guard needs targetMetrics: { url, series: [${parsed.condition.series}] } to scrape`,
    )
    return undefined
  }
  if (!targetSeries.includes(parsed.condition.series)) {
    problem(
      `${path}/require`,
      `${parsed.condition.series} is not scraped; add it to targetMetrics.series (${targetSeries.join(', ')})`,
    )
    return undefined
  }
  return { name: guard.name, require: parsed.condition, dryRun: guard.dryRun ?? false }
}

function parseCondition(text: string, baseline: boolean, path: string, problem: ReportProblem): Condition | undefined {
  const change = /\s(drop|rise)\s/i.test(` ${text} `)
  if (change && !baseline) {
    problem(path, `"${text}" compares with a baseline; that needs kind: baseline`)
    return undefined
  }
  if (baseline) {
    if (!change) {
      problem(
        path,
        `a baseline guard bounds a change, e.g. "success_rate drop < 2pp" or "p99 rise < 20%"; "${text}" is a ` +
          `fixed limit (use kind: abort or slo)`,
      )
      return undefined
    }
    const parsed = parseChange(text)
    if (parsed.ok) return parsed.condition
    problem(path, parsed.message)
    return undefined
  }
  const parsed = parseThreshold(text)
  if (parsed.ok) return parsed.threshold
  problem(path, parsed.message)
  return undefined
}
