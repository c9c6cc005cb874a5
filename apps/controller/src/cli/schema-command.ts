import { ScenarioSchema } from '@gauntlet/contracts'
import type { Output } from './output.js'

/** Prints the scenario JSON Schema (the same TypeBox source the loader validates with). */
export async function schemaCommand(_argv: string[], out: Output): Promise<number> {
  out.stdout(JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ScenarioSchema }, null, 2))
  return 0
}
