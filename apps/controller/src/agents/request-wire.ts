import { envReferences, GauntletError, partitionRows, type Assignment, type MixRequestWire } from '@gauntlet/contracts'
import type { RequestPlan, Scenario } from '../scenario/scenario.js'

/** The requests part of an assignment (or of the embedded run's plan): what every send makes. */
export type RequestWire = Pick<Assignment, 'mix' | 'perRequest' | 'data' | 'slot'>

/**
 * What the agents send, from the scenario's run inputs (resolved at run start: env values in, files
 * read). `slot` is this agent's place among the run's agents: a unique data set is split between them.
 * A scenario whose inputs were not resolved may not reach an agent with a `${env.*}` in it: that would
 * be sent literally.
 */
export function requestWire(
  scenario: Scenario,
  slot: { index: number; count: number } = { index: 0, count: 1 },
): RequestWire {
  if (!scenario.inputs && Object.keys(scenario.data).length > 0)
    throw new GauntletError('internal', "the run's data sets were not read before its load")
  const requests = scenario.inputs?.requests ?? scenario.requests.map(unresolved)
  const data = scenario.inputs?.data ?? {}
  return {
    mix: requests.map(wireRequest),
    ...(scenario.perRequest ? { perRequest: true } : {}),
    ...(Object.keys(data).length > 0
      ? {
          data: Object.fromEntries(
            Object.entries(data).map(([name, set]) => [
              name,
              { ...set, rows: partitionRows(set.rows, set.order, slot.count, slot.index) },
            ]),
          ),
        }
      : {}),
    ...(slot.count > 1 ? { slot } : {}),
  }
}

/**
 * The connection-level target of an assignment: the origin (paths, headers and bodies go in the mix, so
 * neither a template nor an env reference travels in it) and a Host the scenario sets, if any.
 */
export function targetWire(scenario: Scenario): { url: string; headers: Record<string, string> } {
  const origin = new URL(scenario.target.url.replace(/[{}$ ]/g, '_')).origin
  const host = Object.entries(scenario.target.headers).find(([name]) => name.toLowerCase() === 'host')
  return { url: `${origin}/`, headers: host && !host[1].includes('${') ? { [host[0]]: host[1] } : {} }
}

function wireRequest(request: RequestPlan): MixRequestWire {
  return {
    name: request.name,
    weight: request.weight,
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(request.expectStatus !== undefined ? { expectStatus: request.expectStatus } : {}),
    ...(request.expectBodyContains !== undefined ? { expectBodyContains: request.expectBodyContains } : {}),
    ...(request.expectHeader !== undefined ? { expectHeader: request.expectHeader } : {}),
  }
}

/** A request whose inputs were never resolved: usable only when it reads nothing at run start. */
function unresolved(request: RequestPlan): RequestPlan {
  const values = [request.path, request.body ?? '', ...Object.values(request.headers)]
  const readsEnv = values.some((value) => {
    const scan = envReferences(value)
    return !scan.ok || scan.references.length > 0
  })
  if (readsEnv || request.bodyFile !== undefined)
    throw new GauntletError(
      'internal',
      `request ${request.name} reads env or files, and the run's inputs were not read`,
    )
  return request
}
