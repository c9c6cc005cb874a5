/** Windows are 1 s, so step-shaped durations must be whole seconds. Reports through `add` otherwise. */
export function wholeSeconds(
  ms: number,
  path: string,
  add: (path: string, message: string) => void,
): number | undefined {
  if (ms % 1000 !== 0) {
    add(path, `must be a whole number of seconds (windows are 1s), got ${ms}ms`)
    return undefined
  }
  return ms / 1000
}
