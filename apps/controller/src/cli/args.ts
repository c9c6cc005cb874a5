import { GauntletError } from '@gauntlet/contracts'

/** Runs node's parseArgs (passed in as `parse`) and turns its errors into GauntletError('usage'): exit 2, one line. */
export function withUsage<T>(usage: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    throw new GauntletError('usage', `${(error as Error).message.split('\n')[0]}\nusage: ${usage}`)
  }
}
