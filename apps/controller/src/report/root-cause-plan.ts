import { parseScenario } from '../scenario/load-scenario.js'
import type { Scenario } from '../scenario/scenario.js'
import type { RootCausePlan } from './root-cause/root-cause.js'

/** What the root cause needs of a run's scenario: its request timeout and its faults' parameters. */
export function rootCausePlan(scenario: Scenario): RootCausePlan {
  return { requestTimeoutMs: scenario.target.timeoutMs, faults: scenario.faults.map((f) => f.spec) }
}

/**
 * The plan of a stored scenario, parsed by `parse`; undefined when it no longer parses (a scenario stored
 * by an older version): the root cause then says which parameters it lacked.
 */
export async function storedRootCausePlan(
  yaml: string,
  parse: (yaml: string) => Scenario | Promise<Scenario>,
): Promise<RootCausePlan | undefined> {
  try {
    return rootCausePlan(await parse(yaml))
  } catch {
    return undefined
  }
}

/** The plan of a stored scenario parsed in this process (the CLI: one report, nothing else to stall). */
export const localPlan = (yaml: string): Promise<RootCausePlan | undefined> => storedRootCausePlan(yaml, parseScenario)
