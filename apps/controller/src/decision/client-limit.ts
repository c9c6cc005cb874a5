/**
 * When a step proves nothing about its target because the load generator, not the target, was the
 * limit. A window is generator-limited when the client dropped a send or sent more than 1% late (see
 * the agent's window accumulator).
 * - A dropped send never reached the target: the step did not carry its planned load, so one second
 *   with a drop is enough.
 * - A late send still reached the target; it only adds client-side delay to the latency, which can make
 *   a step look worse, never better. One such second in a long step (a GC pause, a noisy neighbour)
 *   leaves the step sound; past this share of the judged seconds it is not.
 */
export const generatorLimitedShare = 0.1

export interface ClientLimit {
  /** Judged seconds the client could not keep on schedule (dropped or late sends). */
  limitedS: number
  /** Judged seconds in which a planned send was dropped. */
  droppedS: number
  judgedS: number
}

export function clientWasTheLimit({ limitedS, droppedS, judgedS }: ClientLimit): boolean {
  return droppedS > 0 || (limitedS > 0 && limitedS > judgedS * generatorLimitedShare)
}

/** What a step's judged windows say about the client. */
export function clientLimitOf(windows: ReadonlyArray<{ generatorLimited: boolean; dropped: number }>): ClientLimit {
  return {
    limitedS: windows.filter((w) => w.generatorLimited).length,
    droppedS: windows.filter((w) => w.dropped > 0).length,
    judgedS: windows.length,
  }
}

/** Why, in words: how many judged seconds, and how many of them dropped sends. */
export function clientLimitText({ limitedS, droppedS, judgedS }: ClientLimit): string {
  const dropped = droppedS > 0 ? `, ${droppedS} of them with dropped sends` : ''
  return `${limitedS} of ${judgedS} judged seconds were generator-limited${dropped}`
}
