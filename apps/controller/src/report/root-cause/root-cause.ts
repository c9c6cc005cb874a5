import type { RootCause, RunReport, WindowReport } from '@gauntlet/contracts'
import { sampleStats } from '../../decision/sample-stats.js'
import { baselineBounds, firstDegraded, recoveredAt } from './degradation.js'
import { headlineOf } from './headline.js'
import { measureImpact } from './impact.js'
import { findIncident, firstTrip } from './incident.js'
import { rankSuspects } from './rank.js'
import type { RootCausePlan } from './rules/rule.js'
import { rules } from './rules/index.js'
import { buildTimeline, type Degradation } from './timeline.js'

export type { RootCausePlan } from './rules/rule.js'

export interface RootCauseInput {
  /** The report built so far (everything but its root cause). */
  report: RunReport
  /** The run's merged windows (histograms for bounds). */
  windows: readonly WindowReport[]
  /**
   * The faults' parameters and the request timeout, from the scenario stored with the run
   * (parseScenario(StoredRun.scenarioYaml)): what the run's summary does not hold. Without it the fault
   * rules still rank by mechanism and say what they could not check.
   */
  plan?: RootCausePlan
}

/**
 * The root-cause report of a run with faults or a tripped guard; null for any other run (pure: no I/O).
 * The incident (incident.ts) sets the baseline and the seconds during and after; degradation.ts finds
 * the first degraded second and the recovery; impact.ts measures the change with the baseline guard's
 * statistics; each rule in rules/ names suspects with evidence, and rank.ts orders them.
 */
export function findRootCause(input: RootCauseInput): RootCause | null {
  const { report, windows } = input
  if (report.faults.length === 0 && !firstTrip(report.decisions)) return null
  const startMs = runStartMs(report, windows)
  const incident = findIncident(report, windows)
  if (!incident) {
    const degradation: Degradation = {}
    return {
      headline: headlineOf(report, undefined, null, degradation, []),
      timeline: buildTimeline(report, undefined, degradation, startMs),
      impact: null,
      suspects: [],
    }
  }
  const impact = measureImpact(report, incident)
  const degradation: Degradation = {}
  if (incident.baseline.length > 0) {
    const bounds = baselineBounds(sampleStats(incident.baseline))
    const degraded = firstDegraded(windows, incident.startS, bounds)
    if (degraded) {
      degradation.degraded = degraded
      const recovered =
        incident.endS === null
          ? undefined
          : recoveredAt(windows, Math.max(Math.ceil(incident.endS), degraded.atS), bounds)
      if (recovered !== undefined) degradation.recoveredAtS = recovered
    }
  }
  const context = {
    report,
    windows,
    incident,
    impact,
    ...(input.plan ? { plan: input.plan } : {}),
    ...(degradation.degraded ? { degradedAtS: degradation.degraded.atS } : {}),
  }
  const suspects = rankSuspects(rules.flatMap((rule) => rule(context)))
  return {
    headline: headlineOf(report, incident, impact, degradation, suspects),
    timeline: buildTimeline(report, incident, degradation, startMs),
    impact,
    suspects,
  }
}

/** Epoch ms of run second 0: from the windows (each knows its start), else the run's start. */
function runStartMs(report: RunReport, windows: readonly WindowReport[]): number {
  const first = windows[0]
  return first ? first.startedAt - first.index * 1000 : Date.parse(report.run.startedAt)
}
