/**
 * When a step proves nothing about its target because the load generator, not the target, was the
 * limit. A window is generator-limited when the client dropped a send or sent more than 1% late (see
 * the agent's window accumulator). One such second in a long step (a GC pause, a noisy neighbour)
 * leaves the rest of the step sound: its late sends only add client-side delay to the latency, so
 * they can make a step look worse, never better. Past this share of the judged seconds the step's
 * load did not reach the target as planned, and its result says so instead of passing.
 */
export const generatorLimitedShare = 0.1

export function clientWasTheLimit(limitedS: number, judgedS: number): boolean {
  return limitedS > 0 && limitedS > judgedS * generatorLimitedShare
}
