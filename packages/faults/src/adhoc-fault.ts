import {
  FaultDocumentSchema,
  GauntletError,
  type FaultDocument,
  type FaultSpec,
  type Problem,
} from '@gauntlet/contracts'
// Errors alone (not typebox/value): scenario loading imports this module too, and every run loads that.
import { Errors } from '@gauntlet/contracts/typebox'
import { randomBytes } from 'node:crypto'
import { buildFault } from './fault-loader.js'

/**
 * A fault applied by hand (REST or `gauntlet fault apply`): the same document as in a scenario, with
 * a required duration and no run clock (`at`/`atStep` do not apply). Every problem at once.
 */
export function adhocFault(doc: unknown, pathPrefix = ''): FaultSpec {
  const problems: Problem[] = [...Errors(FaultDocumentSchema, doc)].map((e) => ({
    path: `${pathPrefix}${e.path}`,
    message: (e.schema as { errorMessage?: string }).errorMessage ?? e.message.toLowerCase(),
  }))
  if (problems.length === 0) {
    const fault = doc as FaultDocument
    if (fault.at !== undefined || fault.atStep !== undefined)
      problems.push({
        path: `${pathPrefix}/${fault.at !== undefined ? 'at' : 'atStep'}`,
        message: 'an ad hoc fault starts now; at and atStep belong in a scenario',
      })
    const built = buildFault(
      fault,
      pathPrefix,
      (path, message) => problems.push({ path, message }),
      `adhoc-${randomBytes(4).toString('hex')}`,
    )
    if (built && problems.length === 0) return built.spec
  }
  throw new GauntletError(
    'invalid_scenario',
    `invalid fault: ${problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}`,
    { problems },
  )
}
