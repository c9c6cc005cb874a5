import type { PlannedStep } from '@gauntlet/contracts'

/** The part of `plan` from run second `fromS` on (a step under way keeps only its remaining seconds). */
export function planFrom(plan: readonly PlannedStep[], fromS: number): PlannedStep[] {
  const tail: PlannedStep[] = []
  let startS = 0
  for (const entry of plan) {
    const endS = startS + entry.durationS
    if (endS > fromS) tail.push({ ...entry, durationS: endS - Math.max(startS, fromS) })
    startS = endS
  }
  return tail
}

/** The part of `plan` before run second `fromS` (a step under way keeps only its seconds before it). */
export function planBefore(plan: readonly PlannedStep[], fromS: number): PlannedStep[] {
  const head: PlannedStep[] = []
  let startS = 0
  for (const entry of plan) {
    if (startS >= fromS) break
    head.push({ ...entry, durationS: Math.min(entry.durationS, fromS - startS) })
    startS += entry.durationS
  }
  return head
}

/**
 * Each agent's share of `plan`, in proportion to its capacity. What is split is each step's planned
 * sends (whole requests, largest remainder first), and an agent's rate is its sends over the step's
 * duration: so the agents together plan exactly the step's sends, even at rates too low to split
 * evenly (1 rps for 10 s over 3 agents: 4 + 3 + 3 sends, never 3 + 3 + 3).
 */
export function splitPlan(plan: readonly PlannedStep[], capacities: readonly number[]): PlannedStep[][] {
  if (capacities.length === 1) return [plan.map((entry) => ({ ...entry }))]
  const perEntry = plan.map((entry) =>
    apportion(Math.round(entry.rps * entry.durationS), capacities).map((sends) => ({
      ...entry,
      rps: sends / entry.durationS,
    })),
  )
  return capacities.map((_, agent) => perEntry.map((parts) => parts[agent]!))
}

/** Splits `total` whole units in proportion to `weights` by largest remainder: the parts add up to `total`. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((acc, w) => acc + w, 0)
  const exact = weights.map((w) => (total * w) / sum)
  const parts = exact.map(Math.floor)
  let left = total - parts.reduce((acc, p) => acc + p, 0)
  const byRemainder = exact
    .map((x, i) => ({ remainder: x - parts[i]!, i }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i)
  for (const { i } of byRemainder) {
    if (left <= 0) break
    parts[i]!++
    left--
  }
  return parts
}
