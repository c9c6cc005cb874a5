import { GauntletError } from '@gauntlet/contracts'
import type { Scenario } from './scenario.js'

/**
 * The same scenario against another environment (`--target`, or "target" in POST /api/runs).
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
  return { ...scenario, target: { ...scenario.target, url: url.toString() } }
}
