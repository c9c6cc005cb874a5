import { GauntletError } from '@gauntlet/contracts'
import { targetAllowListFromEnv } from '@gauntlet/agent'
import { assertScenarioEgress } from '../scenario/egress-check.js'
import { loadScenarioFile } from '../scenario/load-scenario.js'
import { hookAllowListFromEnv } from './run-command.js'
import { parseArgs } from 'node:util'
import { withUsage } from './args.js'
import type { Output } from './output.js'

const usage = 'gauntlet validate <scenario.yaml>'

export async function validateCommand(argv: string[], out: Output): Promise<number> {
  const { positionals } = withUsage(usage, () => parseArgs({ args: argv, allowPositionals: true, options: {} }))
  if (positionals.length !== 1) throw new GauntletError('usage', `expected one scenario file\nusage: ${usage}`)
  const { scenario, yaml } = await loadScenarioFile(positionals[0]!)
  // The allow-lists of this environment (GAUNTLET_TARGET_ALLOW, GAUNTLET_HOOK_ALLOW), as `gauntlet run` applies them.
  assertScenarioEgress(
    scenario,
    { targetAllow: targetAllowListFromEnv(), hookAllow: hookAllowListFromEnv() },
    { yaml, file: positionals[0]! },
  )
  const totalS = scenario.steps.reduce((sum, s) => sum + s.durationS, 0)
  out.stdout(
    `${positionals[0]}: ok (${scenario.name}: ${scenario.steps.length} steps, ${totalS}s, ${scenario.thresholds.length} thresholds)`,
  )
  return 0
}
