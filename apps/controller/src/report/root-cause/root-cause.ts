import type { RootCause, RunReport, WindowReport } from '@gauntlet/contracts'

export interface RootCauseInput {
  /** The report built so far (everything but its root cause). */
  report: RunReport
  /** The run's merged windows (histograms for bounds). */
  windows: readonly WindowReport[]
}

/** The root-cause report of a run with faults or a tripped guard; null for any other run. (Stub: being built.) */
export function findRootCause(input: RootCauseInput): RootCause | null {
  const { report } = input
  const tripped = report.chart.marks.some((m) => m.kind === 'trip' || m.kind === 'rollback')
  if (report.faults.length === 0 && !tripped) return null
  return { headline: 'no cause found', timeline: [], impact: null, suspects: [] }
}
