import { errorClasses, type ChartData, type ErrorClass, type RunReport } from '@gauntlet/contracts'

/**
 * A run report made up whole: `seconds` 1 s windows over four steps with realistic values (latency
 * with the HDR histogram's three decimals, a fault that raises latency and timeouts, a generator-limited
 * stretch), decision marks of every kind, and `metrics` target series scraped every 5 s. `text` goes
 * into every user-supplied string (scenario, reasons, notes) to test escaping.
 */
export function syntheticReport(seconds: number, options: { metrics?: number; text?: string } = {}): RunReport {
  const text = options.text ?? ''
  const stepLength = Math.ceil(seconds / 4)
  const faultFrom = Math.floor(seconds * 0.55)
  const faultTo = Math.floor(seconds * 0.7)
  const chart = chartData(seconds, stepLength, faultFrom, faultTo, options.metrics ?? 2)
  chart.faults[0]!.id = `latency-spike ${text}`.trim()
  const startedAt = '2026-12-02T02:00:00.000Z'
  const at = (s: number): string => new Date(Date.parse(startedAt) + s * 1000).toISOString()
  return {
    run: {
      id: 'run-synthetic',
      scenario: `checkout ${text}`,
      target: `http://orders.internal:8080/api ${text}`,
      status: 'failed',
      verdict: 'fail',
      capacityRps: 200,
      startedAt,
      finishedAt: at(seconds),
      durationS: seconds,
      agents: ['agent-a', 'agent-b'],
      degraded: false,
    },
    steps: [0, 1, 2, 3].map((i) => ({
      index: i,
      plannedRps: 100 * (i + 1),
      achievedRps: 100 * (i + 1) - 0.4,
      durationS: stepLength,
      warmupS: 5,
      planned: 100 * (i + 1) * stepLength,
      sent: 100 * (i + 1) * stepLength,
      completed: 100 * (i + 1) * stepLength,
      errors: i * 37,
      errorRate: (i * 37) / (100 * (i + 1) * stepLength),
      errorsByClass: { status: { '503': i * 30 }, timeout: i * 7, refused: 0, reset: 0, other: 0 },
      p50Ms: 12.347 + i,
      p90Ms: 30.2 + i * 4,
      p99Ms: 80.5 + i * 40,
      maxMs: 300.1,
      generatorLimited: i === 3,
      verdict: i < 2 ? 'pass' : i === 2 ? 'fail' : 'generator-limited',
      ...(i === 3 ? { reason: `generator-limited ${text}` } : {}),
      thresholds: [
        {
          threshold: 'p99 < 200ms',
          metric: 'p99',
          observed: 80.5 + i * 40,
          limit: 200,
          pass: i < 3,
          evidence: { n: 1000, lower: 70 + i * 40, upper: 95 + i * 40, confidence: i < 2 ? 'pass' : 'insufficient' },
        },
      ],
    })),
    chart,
    decisions: [
      {
        at: at(stepLength),
        step: 0,
        source: 'gate',
        guard: 'error_rate',
        condition: 'error_rate < 1%',
        verdict: 'pass',
        action: 'advance',
        reason: `advanced ${text}`,
        evidence: {
          n: 3000,
          estimate: 0.001,
          lower: 0,
          upper: 0.004,
          limit: 0.01,
          confidence: 'pass',
          windowStart: 5,
          windowEnd: stepLength,
        },
      },
    ],
    quietDecisions: 42,
    faults: [
      {
        id: `latency-spike ${text}`,
        type: 'latency',
        mechanism: 'netem',
        targets: ['orders'],
        plannedApplyAt: at(faultFrom),
        appliedAt: at(faultFrom + 0.2),
        plannedRevertAt: at(faultTo),
        revertedAt: at(faultTo + 0.3),
        revertVerified: true,
        notes: [`note ${text}`],
        injector: 'holder',
      },
    ],
    hooks: [
      {
        event: 'onRollback',
        url: `https://hooks.example/alert?x=${text}`,
        delivered: true,
        attempts: [
          { at: at(faultTo), ms: 30000, error: `timeout ${text}` },
          { at: at(faultTo + 2), ms: 41, status: 200 },
        ],
      },
    ],
    targetMetrics: chart.targetMetrics.map((m) => ({
      series: m.name,
      scrapes: m.points.length,
      preLoad: 100,
      peak: 180,
      peakAtS: faultTo,
      end: 120,
      peakGrowth: 0.8,
      endGrowth: 0.2,
      growingSinceS: null,
    })),
    reasons: [`step 3 failed: p99 ${text}`],
    warnings: [`warning ${text}`],
    rollback: { step: 2, guard: 'success', reason: `success rate dropped ${text}`, at: at(faultTo) },
    rootCause: {
      headline: `latency-spike explains the timeouts ${text}`,
      timeline: [
        { atS: faultFrom, at: at(faultFrom), kind: 'fault-start', text: `latency-spike applied ${text}` },
        { atS: faultTo, at: at(faultTo), kind: 'rollback', text: 'rolled back' },
      ],
      impact: {
        baseline: { fromS: 0, toS: faultFrom, source: 'prefault' },
        during: { fromS: faultFrom, toS: faultTo },
        successRateDropPp: { estimate: 4.2, lower: 3.1, upper: 5.3 },
        latency: [
          { quantile: 'p99', baselineMs: 80, duringMs: 400, changeMs: { estimate: 320, lower: 290, upper: 350 } },
        ],
        errorClasses: [{ class: 'timeout', before: 0, during: 0.04, after: 0.001 }],
      },
      suspects: [
        {
          rank: 1,
          kind: 'fault',
          subject: `latency-spike ${text}`,
          reason: `delay plus base latency exceeds the timeout ${text}`,
          evidence: [`p99 400ms ${text}`],
          rankedBy: 'explains 97% of the errors',
        },
      ],
    },
  }
}

function chartData(
  seconds: number,
  stepLength: number,
  faultFrom: number,
  faultTo: number,
  metrics: number,
): ChartData {
  const t = Array.from({ length: seconds }, (_, i) => i)
  const step = t.map((s) => Math.min(3, Math.floor(s / stepLength)))
  const planned = step.map((k) => 100 * (k + 1))
  const inFault = (s: number): boolean => s >= faultFrom && s < faultTo
  const wave = (s: number, scale: number): number => Math.round((1 + 0.1 * Math.sin(s / 7)) * scale * 1000) / 1000
  const limited = t.map((s) => (step[s] === 3 && s % 10 < 3 ? 1 : 0))
  const errors = Object.fromEntries(errorClasses.map((c) => [c, t.map(() => 0)])) as Record<ErrorClass, number[]>
  t.forEach((s) => {
    errors.timeout[s] = inFault(s) ? 4 + (s % 5) : 0
    errors['5xx'][s] = s % 13 === 0 ? 2 : 0
    errors['4xx'][s] = s % 29 === 0 ? 1 : 0
    errors.reset[s] = inFault(s) && s % 3 === 0 ? 1 : 0
  })
  const achieved = t.map((s) => planned[s]! - (limited[s] ? 23 : s % 2))
  return {
    seconds: {
      t,
      step,
      planned,
      achieved,
      ok: t.map((s) => achieved[s]! - 5),
      completed: achieved,
      p50: t.map((s) => wave(s, inFault(s) ? 212.3 : 12.3)),
      p90: t.map((s) => wave(s, inFault(s) ? 251.9 : 30.1)),
      p99: t.map((s) => (s === 1 ? null : wave(s, inFault(s) ? 402.7 : 80.5))),
      max: t.map((s) => wave(s, inFault(s) ? 900.1 : 150.2)),
      errors,
      connections: t.map((s) => 20 + step[s]! * 10 + (s % 4)),
      generatorLimited: limited,
    },
    steps: [0, 1, 2, 3].map((i) => ({
      index: i,
      plannedRps: 100 * (i + 1),
      startS: i * stepLength,
      endS: Math.min(seconds, (i + 1) * stepLength),
      verdict: i < 2 ? 'pass' : 'fail',
    })),
    faults: [
      {
        id: 'latency-spike',
        type: 'latency',
        mechanism: 'netem',
        injector: 'holder',
        startS: faultFrom + 0.2,
        endS: faultTo + 0.3,
        plannedStartS: faultFrom,
        plannedEndS: faultTo,
      },
    ],
    marks: (['advance', 'hold', 'trip', 'clear', 'rollback', 'dry-run'] as const).map((kind, i) => ({
      atS: Math.floor(((i + 1) * seconds) / 7),
      step: Math.min(3, Math.floor(((i + 1) * seconds) / 7 / stepLength)),
      kind,
      label: `${kind}: guard`,
    })),
    targetMetrics: Array.from({ length: metrics }, (_, k) => ({
      name: k === 0 ? 'process_resident_memory_bytes' : `db_pool_in_use_${k}`,
      points: t
        .filter((s) => s % 5 === 0)
        .map((s): [number, number] => [s, Math.round((k === 0 ? 1.2e8 : 10) * (1 + s / seconds) * 100) / 100]),
    })),
  }
}
