import { MaxRps, parseDurationMs, type ScenarioDocument, type ReportProblem } from '@gauntlet/contracts'
import { wholeSeconds } from './duration.js'
import { defaults } from './scenario.js'

/**
 * `load.ramp` or `load.steps` -> the list of steps to run. A ramp runs from, from+step, ... up to `to`;
 * when `to` is not on that grid it is added as the last step, so the ramp always ends where it says.
 * Descending ramps (from > to) step down. Returns undefined after reporting problems through `add`.
 */
export function planSteps(
  load: ScenarioDocument['load'],
  add: ReportProblem,
): Array<{ rps: number; durationS: number }> | undefined {
  if (load.ramp && load.steps) {
    add('/load', 'give either ramp or steps, not both')
    return undefined
  }
  if (!load.ramp && !load.steps) {
    add(
      '/load',
      'missing ramp or steps: say how the rate changes, e.g. ramp: { from: 100, to: 800, step: 100, every: 30s }',
    )
    return undefined
  }
  let steps: Array<{ rps: number; durationS: number }> | undefined
  if (load.ramp) {
    const { from, to, step } = load.ramp
    const durationS = wholeSeconds(parseDurationMs(load.ramp.every)!, '/load/ramp/every', add)
    const onGrid = Math.floor(Math.abs(to - from) / step + 1e-9) + 1
    const count = onGrid + (round(from + (to >= from ? 1 : -1) * (onGrid - 1) * step) === round(to) ? 0 : 1)
    if (count > defaults.maxSteps) {
      add('/load/ramp/step', `this ramp makes ${count} steps; at most ${defaults.maxSteps} are allowed`)
      return undefined
    }
    if (durationS === undefined) return undefined
    if (durationS < 1) {
      add('/load/ramp/every', 'a step lasts at least 1s')
      return undefined
    }
    const direction = to >= from ? 1 : -1
    const rates = Array.from({ length: onGrid }, (_, i) => round(from + direction * i * step))
    if (rates[rates.length - 1] !== round(to)) rates.push(round(to))
    steps = rates.map((rps) => ({ rps, durationS }))
  } else {
    steps = []
    for (const [i, item] of (load.steps ?? []).entries()) {
      const durationS = wholeSeconds(parseDurationMs(item.duration)!, `/load/steps/${i}/duration`, add)
      if (durationS === undefined) continue
      if (durationS < 1) add(`/load/steps/${i}/duration`, 'a step lasts at least 1s')
      else steps.push({ rps: item.rps, durationS })
    }
    if (steps.length !== load.steps?.length) return undefined
  }
  const totalS = steps.reduce((sum, s) => sum + s.durationS, 0)
  if (totalS > defaults.maxRunS) {
    add('/load', `the run would last ${totalS}s; at most ${defaults.maxRunS}s (24h) is allowed`)
    return undefined
  }
  const tooSparse = steps.findIndex((s) => s.rps * s.durationS < 1)
  if (tooSparse >= 0) {
    add(
      load.ramp ? '/load/ramp' : `/load/steps/${tooSparse}`,
      `step ${tooSparse + 1} would send no request (${steps[tooSparse]!.rps} rps for ${steps[tooSparse]!.durationS}s)`,
    )
    return undefined
  }
  if (steps.some((s) => s.rps > MaxRps)) return undefined
  return steps
}

const round = (n: number): number => Math.round(n * 1000) / 1000
