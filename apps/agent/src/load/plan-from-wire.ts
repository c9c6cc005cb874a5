import type { Assignment } from '@gauntlet/contracts'
import type { LoadPlan } from './load-generator.js'
import { responseExpectationFor } from './response-expectation.js'

/**
 * The requests part of a load plan from what an assignment (or the embedded run) carries.
 * `followRedirects` is the target's, for every request of the mix.
 */
export function requestPlanOf(
  wire: Pick<Assignment, 'mix' | 'perRequest' | 'data' | 'slot'>,
  followRedirects = false,
): Pick<LoadPlan, 'mix' | 'perRequest' | 'data' | 'slot'> {
  return {
    ...(wire.mix
      ? {
          mix: wire.mix.map((request) => {
            const expect = responseExpectationFor({ ...request, followRedirects })
            return {
              name: request.name,
              weight: request.weight,
              method: request.method,
              path: request.path,
              headers: request.headers,
              ...(request.body !== undefined ? { body: request.body } : {}),
              ...(expect ? { expect } : {}),
            }
          }),
        }
      : {}),
    ...(wire.perRequest ? { perRequest: true } : {}),
    ...(wire.data ? { data: wire.data } : {}),
    ...(wire.slot ? { slot: wire.slot } : {}),
  }
}
