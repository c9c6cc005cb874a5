import { usageError, type CommandSpec } from './command-spec.js'

/** Runs `read` (of flags or environment) and turns its errors into a usage problem of `spec`'s command: exit 2. */
export function withUsage<T>(spec: CommandSpec, read: () => T): T {
  try {
    return read()
  } catch (error) {
    throw usageError(spec, (error as Error).message.split('\n')[0]!)
  }
}
