import { dirname } from 'node:path'
import { ExitCode } from '@gauntlet/contracts'
import { targetAllowListFromEnv } from '@gauntlet/agent/generator'
import { assertScenarioEgress, locateProblems } from '../scenario/egress-check.js'
import { loadScenarioFile } from '../scenario/load-scenario.js'
import { resolveScenarioFiles } from '../scenario/scenario-files.js'
import { hookAllowListFromEnv } from './run-command.js'
import { defineCommand, parseCommand, printHelp, usageError } from './command-spec.js'
import type { Output } from './output.js'

export const validateSpec = defineCommand({
  name: 'validate',
  summary: 'checks a scenario as `gauntlet run` would, without sending anything',
  synopsis: ['<scenario.yaml>'],
  positionals: true,
  flags: {},
  env: {
    GAUNTLET_TARGET_ALLOW: 'hosts a run may load (default: loopback)',
    GAUNTLET_HOOK_ALLOW: 'hosts hooks may call (default: loopback)',
  },
  examples: ['gauntlet validate checkout.yaml'],
  exitCodes: {
    [ExitCode.passed]: 'the scenario is valid',
    [ExitCode.invalidInput]: 'invalid scenario (one line per problem, file:line:column) or usage',
  },
})

export async function validateCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(validateSpec, argv)
  if (parsed.help) return printHelp(validateSpec, out)
  const { positionals } = parsed
  if (positionals.length !== 1) throw usageError(validateSpec, 'expected one scenario file')
  const { scenario: written, yaml } = await loadScenarioFile(positionals[0]!)
  // The files it names (target.tls) must exist and parse, as `gauntlet run` reads them.
  const scenario = await resolveScenarioFiles(
    written,
    { scenarioDir: dirname(positionals[0]!) },
    positionals[0]!,
    (problems) => locateProblems(problems, yaml),
  )
  // The allow-lists of this environment (GAUNTLET_TARGET_ALLOW, GAUNTLET_HOOK_ALLOW), as `gauntlet run` applies them.
  assertScenarioEgress(
    scenario,
    { targetAllow: targetAllowListFromEnv(), hookAllow: hookAllowListFromEnv() },
    { yaml, file: positionals[0]! },
  )
  const totalS = scenario.steps.reduce((sum, s) => sum + s.durationS, 0)
  out.stdout(
    `${positionals[0]}: ok (${scenario.name}: ${scenario.steps.length} ` +
      `steps, ${totalS}s, ${scenario.thresholds.length} thresholds)`,
  )
  return 0
}
