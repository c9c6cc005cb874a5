import { GauntletError } from '@gauntlet/contracts'
import type { InjectorChoice } from '@gauntlet/faults'

/**
 * `--injector <auto|holder|host>` (gauntlet run, gauntlet fault). Its own module: `gauntlet run` reads the flag
 * without loading the fault engine, which it loads only for a scenario with faults.
 */
export function injectorFlag(value: string): InjectorChoice {
  if (value === 'auto' || value === 'holder' || value === 'host') return value
  throw new GauntletError('usage', `--injector must be auto, holder or host, got ${JSON.stringify(value)}`)
}
