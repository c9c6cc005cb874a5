import type {
  Bounded,
  ComparedMetric,
  ComparedRun,
  ComparedStep,
  ObservedStep,
  RunComparison,
  RunReport,
  WindowReport,
} from '@gauntlet/contracts'
import { measureChange, type Baseline } from '../decision/baseline.js'
import type { ChangeCondition, ThresholdMetric } from '../decision/condition.js'
import { measure } from '../decision/measure.js'
import { sampleStats, type SampleStats } from '../decision/sample-stats.js'

/**
 * A stored run to compare: what its report says of the run and its steps (a whole report will do; a
 * baseline needs no charts nor root cause), and its merged 1 s windows (histograms for the bounds).
 */
export interface ComparedInput {
  report: Pick<RunReport, 'run' | 'steps'>
  windows: readonly WindowReport[]
}

/**
 * An achieved rate is counted, not sampled (the engine gives it no interval), but a send at a second's
 * edge lands in the neighbouring window: a change within this share of the baseline's rate is noise.
 */
export const rpsResolution = 0.01

/**
 * The smallest change a comparison calls regressed or improved, beyond its 95% bounds. Sampling error is
 * not the only difference between two runs (another load on the machine, a cold cache), and ten metrics
 * judged at 95% each leave their bounds by chance now and then: without a floor an unchanged service
 * "regressed" in about 1 comparison in 8. Latency: 5% of the baseline and at least 1 ms; error rate:
 * 0.1 percentage point.
 */
export const minimumChange = { latencyShare: 0.05, latencyMs: 1, errorRate: 0.001 } as const

const metrics: ReadonlyArray<ComparedMetric['metric']> = ['rps', 'p50', 'p90', 'p99', 'error_rate']

/**
 * Two runs side by side per step (matched by index), each step judged on the seconds its own verdict
 * was: after its warmup (`warmupS`), and without the seconds the load generator could not send on
 * schedule (there the client's queueing, not the target, shaped the numbers; their count is noted).
 * Each metric's change (run minus baseline) comes with 95% bounds from the decision engine's statistics:
 * - error_rate: measureChange, the difference of two proportions (Newcombe's hybrid score interval);
 * - p50/p90/p99: each run's own order-statistic interval (measure()), combined the way measureChange
 *   combines two rates' (the square root of the squared half-widths on each side). measureChange itself
 *   holds a span against a baseline's point estimate, right when the baseline pools far more than the
 *   span; two runs of one scenario pool about as much, so both sides' error counts (otherwise a run
 *   compared with itself on other samples "regressed" several times as often);
 * - rps: measureChange's exact counts, judged beyond `rpsResolution` of the baseline.
 * regressed / improved: the bounds, widened by `minimumChange`, exclude no change, in the worse / better
 * direction. Every metric is judged at 95% on its own: about 2% of the metrics of an unchanged service
 * leave their bare bounds by chance (about 1 comparison in 8 of 2 steps), which the floor brings down (see
 * test/unit/comparison-runs.test.ts).
 */
export function compareRuns(baseline: ComparedInput, run: ComparedInput): RunComparison {
  const notes: string[] = []
  const count = Math.max(baseline.report.steps.length, run.report.steps.length)
  const steps: ComparedStep[] = []
  // A step the baseline ran and the run did not reach (stopped, rolled back) is a regression of its own.
  let unreached = false
  for (let index = 0; index < count; index++) {
    const b = baseline.report.steps.find((s) => s.index === index)
    const r = run.report.steps.find((s) => s.index === index)
    if (!b || !r) {
      if (b) unreached = true
      notes.push(
        b
          ? `step ${index + 1} ran only in the baseline: the run did not reach it (a regression)`
          : `step ${index + 1} ran only in the run: not compared`,
      )
      continue
    }
    if (b.plannedRps !== r.plannedRps)
      notes.push(`step ${index + 1} planned ${r.plannedRps} rps, the baseline ${b.plannedRps} rps: compared anyway`)
    const bs = judgedStats(baseline, b, 'baseline', notes)
    const rs = judgedStats(run, r, 'run', notes)
    steps.push({ index, plannedRps: r.plannedRps, metrics: metrics.map((m) => compareMetric(m, bs, rs)) })
  }
  return {
    baseline: comparedRun(baseline.report),
    run: comparedRun(run.report),
    steps,
    regressed: unreached || steps.some((s) => s.metrics.some((m) => m.verdict === 'regressed')),
    notes,
  }
}

function comparedRun(report: ComparedInput['report']): ComparedRun {
  const { id, scenario, startedAt, verdict, capacityRps } = report.run
  return { id, scenario, startedAt, verdict, capacityRps }
}

/** The step's seconds after its warmup, generator-limited seconds left out (and noted). */
function judgedStats(input: ComparedInput, step: ObservedStep, side: string, notes: string[]): SampleStats {
  const own = input.windows.filter((w) => w.step === step.index)
  // A loop, not Math.min(...): a day-long step has more windows than a call has arguments.
  const first = own.reduce((min, w) => Math.min(min, w.index), Infinity)
  const judged = own.filter((w) => w.index >= first + step.warmupS)
  const sound = judged.filter((w) => !w.generatorLimited)
  if (sound.length < judged.length)
    notes.push(
      `step ${step.index + 1}: ${judged.length - sound.length} of the ${side}'s ${judged.length} judged seconds were ` +
        'generator-limited and left out',
    )
  return sampleStats(sound)
}

function compareMetric(metric: ComparedMetric['metric'], baseline: SampleStats, run: SampleStats): ComparedMetric {
  const base: Baseline = { source: 'baseline run', stats: baseline }
  const stats = { baseline, run }
  if (metric === 'rps') {
    const drop = measureChange(condition('rps', 'drop'), run, base)
    const change = negate(drop)
    const tolerance = (drop.baseline.estimate ?? 0) * rpsResolution
    return result(metric, stats, change, widen(change, tolerance))
  }
  if (metric === 'error_rate') {
    const rise = measureChange(condition(metric, 'rise'), run, base)
    return result(metric, stats, rise, widen(rise, minimumChange.errorRate))
  }
  // Latency: both runs' quantile intervals (measure()), combined as measureChange combines two rates'.
  const r = measure(metric, run)
  const b = measure(metric, baseline)
  if (r.estimate === null || b.estimate === null) return result(metric, stats, none, none)
  const estimate = r.estimate - b.estimate
  const change: Bounded = {
    estimate,
    lower:
      r.lower === null || b.upper === null ? null : estimate - Math.hypot(r.estimate - r.lower, b.upper - b.estimate),
    upper:
      r.upper === null || b.lower === null ? null : estimate + Math.hypot(r.upper - r.estimate, b.estimate - b.lower),
  }
  const floor = Math.max(minimumChange.latencyMs, b.estimate * minimumChange.latencyShare)
  return result(metric, stats, change, widen(change, floor))
}

const none: Bounded = { estimate: null, lower: null, upper: null }

/** The metric's row: `judged` are the bounds the verdict reads (rps: widened by its resolution). */
function result(
  metric: ComparedMetric['metric'],
  stats: { baseline: SampleStats; run: SampleStats },
  change: Bounded,
  judged: Bounded,
): ComparedMetric {
  return {
    metric,
    baseline: measure(metric, stats.baseline).estimate,
    run: measure(metric, stats.run).estimate,
    change: tidy(change),
    verdict: verdictOf(metric, judged),
  }
}

/** A larger value is worse for latency and error rate, better for rps. */
function verdictOf(metric: ComparedMetric['metric'], change: Bounded): ComparedMetric['verdict'] {
  if (change.estimate === null || change.lower === null || change.upper === null) return 'insufficient'
  const worseUp = metric !== 'rps'
  if (change.lower > 0) return worseUp ? 'regressed' : 'improved'
  if (change.upper < 0) return worseUp ? 'improved' : 'regressed'
  return 'within-noise'
}

function condition(metric: ThresholdMetric, direction: ChangeCondition['direction']): ChangeCondition {
  return { source: `${metric} ${direction}`, metric, direction, operator: '<', limit: 0, relative: false }
}

const negate = (b: Bounded): Bounded => ({
  estimate: b.estimate === null ? null : -b.estimate,
  lower: b.upper === null ? null : -b.upper,
  upper: b.lower === null ? null : -b.lower,
})

const widen = (b: Bounded, by: number): Bounded => ({
  estimate: b.estimate,
  lower: b.lower === null ? null : b.lower - by,
  upper: b.upper === null ? null : b.upper + by,
})

/** Float dust off (a difference of two sums): 12 significant digits are more than any metric carries. */
const tidy = (b: Bounded): Bounded => ({ estimate: fix(b.estimate), lower: fix(b.lower), upper: fix(b.upper) })
const fix = (v: number | null): number | null => (v === null ? null : Number(v.toPrecision(12)))
