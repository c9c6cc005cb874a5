import type { AgentStep } from '@gauntlet/contracts'
import type { Scenario } from '../scenario/scenario.js'

/** The scenario's steps as a plan, each entry tagged with its scenario step. */
export function scenarioPlan(scenario: Pick<Scenario, 'steps'>): AgentStep[] {
  return scenario.steps.map((step, index) => ({ rps: step.rps, durationS: step.durationS, step: index }))
}

/** The part of `plan` from run second `fromS` on (a step under way keeps only its remaining seconds). */
export function planFrom(plan: readonly AgentStep[], fromS: number): AgentStep[] {
  const tail: AgentStep[] = []
  let startS = 0
  for (const entry of plan) {
    const endS = startS + entry.durationS
    if (endS > fromS) tail.push({ ...entry, durationS: endS - Math.max(startS, fromS) })
    startS = endS
  }
  return tail
}

/**
 * Each agent's share of `plan`, in proportion to its capacity. Rates are rounded to 1/1000 rps and
 * the last agent takes the rounding remainder, so the shares of a step add up to its rate.
 */
export function splitPlan(plan: readonly AgentStep[], capacities: readonly number[]): AgentStep[][] {
  const total = capacities.reduce((sum, c) => sum + c, 0)
  return capacities.map((capacity, agent) =>
    plan.map((entry) => {
      if (agent < capacities.length - 1) return { ...entry, rps: round3((entry.rps * capacity) / total) }
      const others = capacities.slice(0, -1).reduce((sum, c) => sum + round3((entry.rps * c) / total), 0)
      return { ...entry, rps: Math.max(0, round3(entry.rps - others)) }
    }),
  )
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000
