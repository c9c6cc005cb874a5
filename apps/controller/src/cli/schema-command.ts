import { ExitCode, ScenarioSchema } from '@gauntlet/contracts'
import { defineCommand, parseCommand, printHelp } from './command-spec.js'
import type { Output } from './output.js'

export const schemaSpec = defineCommand({
  name: 'schema',
  summary: 'prints the scenario JSON Schema (for editors and CI checks)',
  synopsis: [''],
  flags: {},
  examples: ['gauntlet schema > scenario.schema.json'],
  exitCodes: { [ExitCode.passed]: 'printed', [ExitCode.invalidInput]: 'usage' },
})

/** Prints the scenario JSON Schema (the same TypeBox source the loader validates with). */
export function schemaCommand(argv: string[], out: Output): Promise<number> {
  if (parseCommand(schemaSpec, argv).help) return Promise.resolve(printHelp(schemaSpec, out))
  out.stdout(JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ScenarioSchema }, null, 2))
  return Promise.resolve(0)
}
