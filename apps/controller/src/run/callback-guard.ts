/** Where a run's callback failed and why: the run ends `error` with it, never the process. */
export type RunFailure = (where: string, error: unknown) => void

/**
 * Wraps the callbacks a run hands to timers, events and other components, so that a throw inside one
 * fails that run (through `fail`) instead of escaping to the process's uncaught-exception handler.
 */
export function callbackGuard(fail: RunFailure) {
  return <A extends unknown[]>(where: string, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args)
      } catch (error) {
        fail(where, error)
      }
    }
}
