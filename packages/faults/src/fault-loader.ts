import { parseDurationMs, type FaultDocument, type FaultSpec, type ReportProblem } from '@gauntlet/contracts'
import { faultTypeUnit } from './registry.js'
import { isIpv4OrCidr } from './types/quantities.js'

export { parseBytes, parseRate } from './types/quantities.js'

/** A fault of a scenario: what to apply, and when, relative to the run. */
export interface ScheduledFault {
  spec: FaultSpec
  /** Seconds after the run's start, or the start of a (1-based) step. */
  start: { atS: number } | { atStep: number }
}

/** What every fault has; the rest are parameters of its type (its unit's `params`). */
const common = new Set<keyof FaultDocument>(['type', 'target', 'at', 'atStep', 'duration'])

/** Longest fault: a forgotten one must still end. */
const maxFaultMs = 24 * 3_600_000

/**
 * Fault documents (schema-valid) into specs with units resolved, reporting every problem through
 * `add` with its path. `ids` names each fault (stable within a scenario, random for ad hoc faults).
 */
export function buildFaults(
  docs: readonly FaultDocument[],
  prefix: string,
  add: ReportProblem,
  ids: (index: number, doc: FaultDocument) => string,
  stepCount?: number,
): ScheduledFault[] | undefined {
  const built = docs.map((doc, i) => buildFault(doc, `${prefix}/${i}`, add, ids(i, doc), stepCount))
  return built.every((f) => f !== undefined) ? built : undefined
}

/** One fault document (schema-valid) at `path`; undefined when it has problems (each reported). */
export function buildFault(
  doc: FaultDocument,
  path: string,
  add: ReportProblem,
  id: string,
  stepCount?: number,
): ScheduledFault | undefined {
  let ok = true
  const problem = (field: string, message: string): void => {
    ok = false
    add(`${path}${field ? `/${field}` : ''}`, message)
  }
  const unit = faultTypeUnit(doc.type)
  for (const key of Object.keys(doc) as Array<keyof FaultDocument>) {
    if (!common.has(key) && !(unit.params as ReadonlyArray<keyof FaultDocument>).includes(key))
      problem(key, `${key} does not apply to a ${doc.type} fault; it takes: ${unit.params.join(', ')}`)
  }
  if (unit.required && doc[unit.required] === undefined) problem('', `a ${doc.type} fault needs ${unit.required}`)
  const selectors = (['container', 'label', 'service'] as const).filter((k) => doc.target[k] !== undefined)
  if (selectors.length !== 1)
    problem(
      'target',
      `name exactly one of container, label or service${selectors.length ? ` (got ${selectors.join(' and ')})` : ''}`,
    )
  if ((doc.target.mode === 'percent') !== (doc.target.percent !== undefined))
    problem('target', 'percent goes with mode: percent, and mode: percent needs percent')
  if (doc.at !== undefined && doc.atStep !== undefined) problem('atStep', 'give at or atStep, not both')
  if (doc.atStep !== undefined && stepCount !== undefined && doc.atStep > stepCount)
    problem('atStep', `the scenario has ${stepCount} step(s)`)
  const durationMs = parseDurationMs(doc.duration)!
  if (durationMs < 1000 || durationMs > maxFaultMs) problem('duration', 'a fault lasts from 1s to 24h')
  const atMs = doc.at === undefined ? 0 : parseDurationMs(doc.at)!
  if (doc.peer !== undefined && !isIpv4OrCidr(doc.peer)) problem('peer', `"${doc.peer}" is not an IPv4 address or CIDR`)
  // Then the type's own parameters: checked, and turned into spec fields, by its unit.
  const fields = unit.build(doc, problem)
  if (!ok) return undefined
  const spec: FaultSpec = {
    id,
    type: doc.type,
    target: doc.target,
    durationMs,
    ...fields,
    ...(doc.port !== undefined ? { port: doc.port } : {}),
    ...(doc.peer !== undefined ? { peer: doc.peer } : {}),
  }
  return { spec, start: doc.atStep !== undefined ? { atStep: doc.atStep } : { atS: atMs / 1000 } }
}
