import type { WindowReport } from '@gauntlet/contracts'
import type { Baseline } from '../decision/baseline.js'
import { sampleStats } from '../decision/sample-stats.js'
import type { RunStore } from '../storage/run-store.js'

/**
 * The `vs: runs` baseline: for each step, the judged seconds (after `warmupS` into the step) of the last
 * `count` passed runs of the same scenario, pooled. Read once, before the run starts.
 */
export function pastRunBaselines(
  store: RunStore,
  scenario: string,
  count: number,
  warmupS: number,
): Map<number, Baseline> {
  const runs = store.listRuns({ scenario, status: 'passed', limit: count })
  const byStep = new Map<number, WindowReport[]>()
  for (const run of runs) {
    const windows = store.windows(run.id)
    const firstOfStep = new Map<number, number>()
    for (const w of windows) firstOfStep.set(w.step, Math.min(firstOfStep.get(w.step) ?? w.index, w.index))
    for (const w of windows) {
      if (w.index < firstOfStep.get(w.step)! + warmupS) continue
      const list = byStep.get(w.step) ?? []
      list.push(w)
      byStep.set(w.step, list)
    }
  }
  const ids = runs.map((r) => r.id).join(', ')
  return new Map(
    [...byStep].map(([step, windows]) => [
      step,
      {
        source: `runs: step ${step + 1} of the last ${runs.length} passed run(s) (${ids})`,
        stats: sampleStats(windows),
      },
    ]),
  )
}
