import type { FaultSpec } from '@gauntlet/contracts'
import { faultTypeUnit } from './registry.js'
import { tbfArgs } from './types/bandwidth.js'
import { delayNetemArgs } from './types/delay.js'
import type { FaultPlan, PlanContext } from './types/fault-type.js'
import { lossNetemArgs } from './types/loss.js'

/**
 * The tc and iptables commands of one fault (pure: no I/O), from its type's unit. Everything Gauntlet
 * creates is marked: the root qdisc handle 7a47:, chains GNT-<hash>-IN/OUT, and rules commented
 * gauntlet:<id>, so revert and recovery touch nothing else.
 */
export function planFault(spec: FaultSpec, ctx: PlanContext): FaultPlan {
  return faultTypeUnit(spec.type).plan(spec, ctx)
}

/** netem arguments of a delay (latency, jitter, correlation, distribution) or else a loss. */
export function netemArgs(spec: FaultSpec): string[] {
  return spec.type === 'delay' ? delayNetemArgs(spec) : lossNetemArgs(spec)
}

export { tbfArgs }
export type { Command, FaultPlan, PlanContext } from './types/fault-type.js'
export { chainPrefix, chainStem, isGauntletRule, qdiscHandle, ruleMark } from './types/plan-parts.js'
