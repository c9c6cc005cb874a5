import type { GuardKind } from '@gauntlet/contracts'
import { isRateMetric, type ChangeCondition, type GrowthCondition, type Threshold } from './condition.js'

/** A guard's healthy condition: a fixed limit, or (baseline guards) a bounded change from the baseline. */
export type Condition = Threshold | ChangeCondition

export const isChange = (condition: Condition): condition is ChangeCondition => 'direction' in condition

/** A guard of the `decision:` section, in engine units (validated by the scenario loader). */
export interface GuardConfig {
  name: string
  kind: GuardKind
  require: Condition
  /** The tighter condition that clears a tripped guard (hysteresis). */
  clearRequire: Condition
  /** Requests that close an evaluation span... */
  minSamples: number
  /** ...or this many seconds, whichever comes first (YAML `maxWindow`). */
  maxSpanS: number
  /** Trips when m of the last n evaluation spans FAIL (abort: 1 of 1). */
  trip: { m: number; n: number }
  /** Consecutive PASS spans at clearRequire that clear it; null: it never clears (abort). */
  clearK: number | null
  vs?: 'prefault' | 'runs'
  /** vs runs: how many past passing runs make the baseline. */
  runs: number
  dryRun: boolean
}

/** A leak guard: judged on the target's own series once the load is over (see leak.ts). */
export interface LeakGuardConfig {
  name: string
  require: GrowthCondition
  dryRun: boolean
}

export interface DecisionConfig {
  /** The guards judged on evaluation spans (abort, slo, baseline). */
  guards: GuardConfig[]
  leaks: LeakGuardConfig[]
  /** Seconds at the start of each step whose windows no guard judges. */
  warmupS: number
  /** Consecutive PASS spans every acting guard needs before its step advances. */
  promoteAfter: number
  /** Longest a step may be held for want of evidence before it rolls back (fail closed). */
  maxHoldS: number
  /** What an insufficient threshold does to the run: pass with a warning, or fail (as a strict run). */
  insufficient: 'pass' | 'fail'
}

export const decisionDefaults = {
  minSamples: 100,
  maxSpanS: 10,
  promoteAfter: 1,
  maxHoldS: 60,
  sloTrip: { m: 3, n: 5 },
  clearK: 2,
  runs: 5,
} as const

/** The default clear condition: the limit moved 10% toward healthy. */
export function tighter(condition: Condition): Condition {
  const healthySmall = condition.operator === '<' || condition.operator === '<='
  if (healthySmall) return { ...condition, limit: condition.limit * 0.9, source: `${condition.source} (tightened 10%)` }
  const rate = isRateMetric(condition.metric)
  return {
    ...condition,
    limit: rate ? condition.limit + (1 - condition.limit) * 0.1 : condition.limit * 1.1,
    source: `${condition.source} (tightened 10%)`,
  }
}
