import {
  parseDurationMs,
  type FaultDocument,
  type FaultSpec,
  type FaultType,
  type ReportProblem,
} from '@gauntlet/contracts'

/** A fault of a scenario: what to apply, and when, relative to the run. */
export interface ScheduledFault {
  spec: FaultSpec
  /** Seconds after the run's start, or the start of a (1-based) step. */
  start: { atS: number } | { atStep: number }
}

/** Which parameters each fault type takes; any other is an error (as an unknown key would be). */
const params: Record<FaultType, ReadonlyArray<keyof FaultDocument>> = {
  delay: ['mode', 'latency', 'jitter', 'correlation', 'distribution', 'port', 'peer'],
  loss: ['mode', 'percent', 'correlation', 'port', 'peer'],
  bandwidth: ['rate', 'burst', 'limit', 'port', 'peer'],
  partition: ['direction', 'peers', 'port', 'peer'],
  reset: ['port', 'peer'],
}
const required: Partial<Record<FaultType, keyof FaultDocument>> = {
  delay: 'latency',
  loss: 'percent',
  bandwidth: 'rate',
  reset: 'port',
}
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
  for (const key of Object.keys(doc) as Array<keyof FaultDocument>) {
    if (!common.has(key) && !params[doc.type].includes(key))
      problem(key, `${key} does not apply to a ${doc.type} fault; it takes: ${params[doc.type].join(', ')}`)
  }
  const need = required[doc.type]
  if (need && doc[need] === undefined) problem('', `a ${doc.type} fault needs ${need}`)
  const selectors = (['container', 'label', 'service'] as const).filter((k) => doc.target[k] !== undefined)
  if (selectors.length !== 1)
    problem(
      'target',
      `name exactly one of container, label or service${selectors.length ? ` (got ${selectors.join(' and ')})` : ''}`,
    )
  if ((doc.target.mode === 'percent') !== (doc.target.percent !== undefined))
    problem('target', 'percent goes with mode: percent, and mode: percent needs percent')
  if (doc.type === 'loss' && doc.mode === 'proxy')
    problem('mode', 'loss has no proxy mode: netem, or auto (netem where the kernel has it, else iptables)')
  if (doc.type === 'delay' && doc.mode === 'proxy' && doc.port === undefined)
    problem('port', 'mode: proxy delays inbound TCP to the service port: set port')
  if (doc.at !== undefined && doc.atStep !== undefined) problem('atStep', 'give at or atStep, not both')
  if (doc.atStep !== undefined && stepCount !== undefined && doc.atStep > stepCount)
    problem('atStep', `the scenario has ${stepCount} step(s)`)

  const durationMs = parseDurationMs(doc.duration)!
  if (durationMs < 1000 || durationMs > maxFaultMs) problem('duration', 'a fault lasts from 1s to 24h')
  const atMs = doc.at === undefined ? 0 : parseDurationMs(doc.at)!
  const latencyMs = doc.latency === undefined ? undefined : parseDurationMs(doc.latency)!
  const jitterMs = doc.jitter === undefined ? undefined : parseDurationMs(doc.jitter)!
  if (latencyMs !== undefined && latencyMs > 60_000) problem('latency', 'at most 60s')
  if (jitterMs !== undefined && latencyMs !== undefined && jitterMs > latencyMs)
    problem('jitter', 'jitter larger than the latency would make delays negative')
  if (doc.distribution !== undefined && !jitterMs) problem('distribution', 'a distribution needs jitter')
  const rateBitsPerS = doc.rate === undefined ? undefined : parseRate(doc.rate)
  if (rateBitsPerS !== undefined && (rateBitsPerS < 8_000 || rateBitsPerS > 100e9))
    problem('rate', 'between 8kbit and 100gbit')
  ;(doc.peers ?? []).forEach((address, i) => {
    if (!isIpv4OrCidr(address)) problem(`peers/${i}`, `"${address}" is not an IPv4 address or CIDR`)
  })
  if (doc.peer !== undefined && !isIpv4OrCidr(doc.peer)) problem('peer', `"${doc.peer}" is not an IPv4 address or CIDR`)
  if (doc.peer !== undefined && doc.peers !== undefined) problem('peer', 'give peers (a list) or peer, not both')
  if (doc.correlation !== undefined && doc.type === 'delay' && !jitterMs)
    problem('correlation', 'correlation applies to jitter: set jitter')
  if (doc.burst !== undefined && parseBytes(doc.burst) < 1)
    problem('burst', 'a bucket of at least one byte (a full frame, 1514, or more in practice)')
  if (doc.limit !== undefined && parseBytes(doc.limit) < 1) problem('limit', 'a queue of at least one byte')
  if (!ok) return undefined
  const mechanism: FaultSpec['mechanism'] =
    doc.type === 'delay' || doc.type === 'loss' ? (doc.mode ?? 'auto') : doc.type === 'bandwidth' ? 'tbf' : 'iptables'
  const spec: FaultSpec = {
    id,
    type: doc.type,
    target: doc.target,
    mechanism,
    durationMs,
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(jitterMs !== undefined ? { jitterMs } : {}),
    ...(doc.correlation !== undefined ? { correlation: doc.correlation } : {}),
    ...(doc.distribution !== undefined ? { distribution: doc.distribution } : {}),
    ...(doc.percent !== undefined ? { percent: doc.percent } : {}),
    ...(rateBitsPerS !== undefined ? { rateBitsPerS } : {}),
    ...(doc.burst !== undefined ? { burstBytes: parseBytes(doc.burst) } : {}),
    ...(doc.limit !== undefined ? { limitBytes: parseBytes(doc.limit) } : {}),
    ...(doc.type === 'partition' ? { direction: doc.direction ?? 'both' } : {}),
    ...(doc.peers !== undefined ? { peers: doc.peers } : {}),
    ...(doc.port !== undefined ? { port: doc.port } : {}),
    ...(doc.peer !== undefined ? { peer: doc.peer } : {}),
  }
  return { spec, start: doc.atStep !== undefined ? { atStep: doc.atStep } : { atS: atMs / 1000 } }
}

const rateUnits: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
}

/** tc's spelling: bit/kbit/mbit/gbit are bits per second, bps/kbps/mbps/gbps bytes per second. */
export function parseRate(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([a-z]+)$/.exec(text)!
  return Math.round(Number(match[1]) * rateUnits[match[2]!]!)
}

const byteUnits: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 * 1024, kbit: 128, mbit: 131072 }

export function parseBytes(text: string): number {
  const match = /^([0-9]+)([a-z]*)$/.exec(text)!
  return Number(match[1]) * byteUnits[match[2]!]!
}

function isIpv4OrCidr(text: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text)
  if (!match) return false
  return match.slice(1, 5).every((octet) => Number(octet) <= 255) && (match[5] === undefined || Number(match[5]) <= 32)
}
