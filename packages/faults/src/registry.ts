import { GauntletError, type FaultType } from '@gauntlet/contracts'
import { bandwidth } from './types/bandwidth.js'
import { delay } from './types/delay.js'
import type { FaultTypeUnit } from './types/fault-type.js'
import { loss } from './types/loss.js'
import { partition } from './types/partition.js'
import { reset } from './types/reset.js'

/**
 * Every fault type, by name: the loader, preflight and planFault look a type up here and know no type
 * by name. A Record over contracts' FaultType, so a type in the schema without a unit (or a unit of a
 * type the schema lacks) does not compile. Adding a type: its module in types/, one line here.
 */
export const faultTypeUnits: Readonly<Record<FaultType, FaultTypeUnit>> = {
  delay,
  loss,
  bandwidth,
  partition,
  reset,
}

/** The unit of `type`; a spec from the wire is schema-checked, but a lookup must not reach Object's prototype. */
export function faultTypeUnit(type: FaultType): FaultTypeUnit {
  if (!Object.hasOwn(faultTypeUnits, type)) throw new GauntletError('invalid_scenario', `unknown fault type "${type}"`)
  return faultTypeUnits[type]
}

export type { FaultTypeUnit } from './types/fault-type.js'
