import type { Decision, RunReport, WindowReport } from '@gauntlet/contracts'

/**
 * What the root cause is about: when the trouble started and ended, and which seconds are the baseline,
 * the seconds during it and the seconds after it.
 * - A run with faults: from the first fault in place to the last one's end (several faults are one
 *   incident; each still has its own timeline entries and suspect line).
 * - A run without an applied fault whose guard tripped: from the first tripping decision's evaluation
 *   span to the first clear after it (none: to the run's end).
 * The baseline is the prefault baseline RunDecisions keeps: judged seconds (after their step's warmup)
 * wholly before the incident, with no fault in them.
 */
export interface Incident {
  cause: 'fault' | 'guard'
  /** Run seconds; a fault's are fractional (when it was in place). */
  startS: number
  /** null: it lasted to the run's end (a fault never reverted, a trip never cleared). */
  endS: number | null
  /** Why it starts where it does, for the impact's and timeline's texts. */
  opener: string
  /** The decision that opened a guard incident. */
  trip?: Decision
  baseline: WindowReport[]
  baselineSource: string
  during: WindowReport[]
  /** Seconds wholly after its end, with no fault (empty when it lasted to the end). */
  after: WindowReport[]
}

/** The incident of a run, or undefined when nothing was applied and no guard tripped. */
export function findIncident(report: RunReport, windows: readonly WindowReport[]): Incident | undefined {
  const applied = report.chart.faults.filter((f) => f.startS !== null)
  if (applied.length > 0) {
    const startS = applied.reduce((min, f) => Math.min(min, f.startS!), Infinity)
    const endS = applied.some((f) => f.endS === null) ? null : applied.reduce((max, f) => Math.max(max, f.endS!), 0)
    const first = applied.find((f) => f.startS === startS)!
    return periods(report, windows, 'fault', startS, endS, `fault ${first.id} in place`)
  }
  const trip = firstTrip(report.decisions)
  if (!trip) return undefined
  const startS = tripStartS(report, trip)
  const clear = report.chart.marks.find((m) => m.kind === 'clear' && m.atS > startS)
  return { ...periods(report, windows, 'guard', startS, clear?.atS ?? null, `guard ${trip.guard} tripped`), trip }
}

/** The first decision that tripped a guard (acting or dry-run), or rolled the run back. */
export function firstTrip(decisions: readonly Decision[]): Decision | undefined {
  return decisions.find(
    (d) =>
      (d.source !== 'threshold' && d.action === 'rollback') ||
      (d.source === 'window' && d.reason?.startsWith('would have rolled back') === true),
  )
}

/** Where a trip's evidence starts: its evaluation span; a gate without evidence, its step's judged seconds. */
function tripStartS(report: RunReport, trip: Decision): number {
  if (trip.evidence.windowEnd > trip.evidence.windowStart) return Math.max(0, trip.evidence.windowStart)
  const step = report.chart.steps.find((s) => s.index === trip.step)
  return step ? step.startS + warmupOf(report, step.index) : 0
}

function periods(
  report: RunReport,
  windows: readonly WindowReport[],
  cause: Incident['cause'],
  startS: number,
  endS: number | null,
  opener: string,
): Incident {
  const clean = (w: WindowReport): boolean => (w.faults?.length ?? 0) === 0
  const baseline = windows.filter((w) => w.index + 1 <= startS && clean(w) && isJudged(report, w))
  const during = windows.filter((w) => w.index + 1 > startS && (endS === null || w.index < endS))
  const after = endS === null ? [] : windows.filter((w) => w.index >= Math.ceil(endS) && clean(w))
  const seconds = baseline.length > 0 ? `seconds ${baseline[0]!.index}-${baseline.at(-1)!.index}` : 'no seconds'
  const before = cause === 'fault' ? 'the first fault' : "the trip's span"
  return {
    cause,
    startS,
    endS,
    opener,
    baseline,
    baselineSource: `prefault: ${baseline.length} judged second(s) before ${before} (${seconds})`,
    during,
    after,
  }
}

/** A second after its step's warmup (what steps and guards judge). */
export function isJudged(report: RunReport, w: WindowReport): boolean {
  const step = report.chart.steps.find((s) => s.index === w.step)
  return step === undefined || w.index >= step.startS + warmupOf(report, w.step)
}

function warmupOf(report: RunReport, step: number): number {
  return report.steps.find((s) => s.index === step)?.warmupS ?? 0
}
