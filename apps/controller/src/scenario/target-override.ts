import { GauntletError } from '@gauntlet/contracts'
import type { Scenario } from './scenario.js'

/**
 * The same scenario against another environment (`--target`, or "target" in POST /api/runs): a mix's
 * requests keep their paths on the new scheme, host and port.
 * The URL gets the checks the scenario's own URL gets.
 */
export function overrideTarget(scenario: Scenario, text: string, label: string): Scenario {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new GauntletError('usage', `${label}: "${text}" is not an http:// or https:// URL without credentials`)
  }
  // The target's one request goes to the new URL's path; a mix keeps its paths, on the new origin.
  const path = `${url.pathname}${url.search}`
  const retarget = <R extends { path: string }>(request: R): R => (scenario.perRequest ? request : { ...request, path })
  return {
    ...scenario,
    target: { ...scenario.target, url: url.toString() },
    requests: scenario.requests.map(retarget),
    ...(scenario.inputs ? { inputs: { ...scenario.inputs, requests: scenario.inputs.requests.map(retarget) } } : {}),
  }
}
