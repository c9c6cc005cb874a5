import { createHash } from 'node:crypto'
import type { FaultSpec } from '@gauntlet/contracts'

/**
 * The tc and iptables commands of one fault, as argument arrays to run inside the target's network
 * namespace (pure: no I/O). Everything Gauntlet creates is marked: the root qdisc handle 7a47:, chains
 * named GNT-<id>-IN/OUT, and rules commented gauntlet:<id>, so revert and recovery touch nothing else.
 */
export type Command = readonly string[]

export interface FaultPlan {
  apply: Command[]
  /** Proxy delay: what stops new connections from reaching the proxy while open ones finish. */
  drain?: Command[]
  /** Explicit undo of `apply`, in order; each may fail harmlessly when already gone. */
  revert: Command[]
  /** What a read-back must show while applied: a qdisc handle and/or rule comments. */
  marks: { qdisc: boolean; rules: boolean }
}

interface PlanContext {
  /** The interface that carries the container's address. */
  iface: string
  /** Epoch ms when the fault ends: iptables rules stop matching then even if nobody reverts them. */
  untilEpochMs: number
  /** Proxy delay: the port the latency proxy listens on inside the namespace. */
  proxyPort?: number
}

export const qdiscHandle = '7a47:'
const leafHandle = '7a48:'
export const ruleMark = (id: string): string => `gauntlet:${id}`
export const isGauntletRule = (line: string): boolean => /--comment "?gauntlet:/.test(line)
export const chainPrefix = 'GNT-'
/** Our chains: GNT-<hash of the fault id>-IN/OUT (iptables allows 28 characters). */
export const chainStem = (id: string): string =>
  `${chainPrefix}${createHash('sha1').update(id).digest('hex').slice(0, 12)}-`
const chain = (id: string, dir: 'IN' | 'OUT'): string => `${chainStem(id)}${dir}`

export function planFault(spec: FaultSpec, ctx: PlanContext): FaultPlan {
  switch (spec.type) {
    case 'delay':
      return spec.mechanism === 'proxy' ? proxyPlan(spec, ctx) : qdiscPlan(spec, ctx, netemArgs(spec))
    case 'loss':
      return spec.mechanism === 'iptables'
        ? filterPlan(spec, ctx, 'IN', [...statistic(spec.percent ?? 0), '-j', 'DROP'])
        : qdiscPlan(spec, ctx, netemArgs(spec))
    case 'bandwidth':
      return qdiscPlan(spec, ctx, tbfArgs(spec))
    case 'partition':
      return partitionPlan(spec, ctx)
    case 'reset':
      return filterPlan(spec, ctx, 'IN', [
        '-p',
        'tcp',
        '--dport',
        String(spec.port),
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      ])
  }
}

/** netem arguments: delay (with jitter, correlation, distribution) or loss. */
export function netemArgs(spec: FaultSpec): string[] {
  const args = ['netem']
  if (spec.type === 'delay') {
    args.push('delay', ms(spec.latencyMs ?? 0))
    if (spec.jitterMs) {
      args.push(ms(spec.jitterMs))
      if (spec.correlation !== undefined) args.push(`${spec.correlation}%`)
      if (spec.distribution) args.push('distribution', spec.distribution)
    }
  } else {
    args.push('loss', `${spec.percent ?? 0}%`)
    if (spec.correlation !== undefined) args.push(`${spec.correlation}%`)
  }
  return args
}

/** tbf: rate, a bucket that holds at least one full frame, and a queue (bytes) or 200 ms of latency. */
export function tbfArgs(spec: FaultSpec): string[] {
  const rate = spec.rateBitsPerS ?? 1
  const burst = spec.burstBytes ?? Math.max(3200, Math.ceil(rate / 8 / 100))
  return [
    'tbf',
    'rate',
    `${rate}bit`,
    'burst',
    String(burst),
    ...(spec.limitBytes ? ['limit', String(spec.limitBytes)] : ['latency', '200ms']),
  ]
}

/**
 * A root qdisc of our own. Scoped to a port or peer, it sits under an htb root (this kernel has no
 * prio) whose default class passes everything else untouched; the u32 filter picks the traffic.
 */
function qdiscPlan(spec: FaultSpec, ctx: PlanContext, leaf: string[]): FaultPlan {
  const tc = ['tc', 'qdisc', 'replace', 'dev', ctx.iface]
  const revert: Command[] = [['tc', 'qdisc', 'del', 'dev', ctx.iface, 'root', 'handle', qdiscHandle]]
  if (spec.port === undefined && spec.peer === undefined) {
    return { apply: [[...tc, 'root', 'handle', qdiscHandle, ...leaf]], revert, marks: { qdisc: true, rules: false } }
  }
  // Egress of the container: replies from the service port, or packets to the peer.
  const match = [
    ...(spec.port !== undefined ? ['match', 'ip', 'sport', String(spec.port), '0xffff'] : []),
    ...(spec.peer !== undefined ? ['match', 'ip', 'dst', spec.peer] : []),
  ]
  const cls = (minor: number): Command => [
    'tc',
    'class',
    'replace',
    'dev',
    ctx.iface,
    'parent',
    qdiscHandle,
    'classid',
    `${qdiscHandle}${minor}`,
    'htb',
    'rate',
    '100gbit',
    'quantum',
    '60000',
  ]
  return {
    apply: [
      [...tc, 'root', 'handle', qdiscHandle, 'htb', 'default', '1', 'r2q', '1000'],
      cls(1),
      cls(2),
      [...tc, 'parent', `${qdiscHandle}2`, 'handle', leafHandle, ...leaf],
      [
        'tc',
        'filter',
        'replace',
        'dev',
        ctx.iface,
        'parent',
        qdiscHandle,
        'protocol',
        'ip',
        'prio',
        '1',
        'u32',
        ...match,
        'flowid',
        `${qdiscHandle}2`,
      ],
    ],
    revert,
    marks: { qdisc: true, rules: false },
  }
}

/** iptables rules in our own chain, entered from INPUT (or OUTPUT) by a marked, self-expiring jump. */
function filterPlan(spec: FaultSpec, ctx: PlanContext, dir: 'IN' | 'OUT', ruleTail: string[]): FaultPlan {
  return chainsPlan(spec, ctx, [{ dir, rules: [[...scope(spec, dir), ...ruleTail]] }])
}

function partitionPlan(spec: FaultSpec, ctx: PlanContext): FaultPlan {
  const dirs: Array<'IN' | 'OUT'> =
    spec.direction === 'ingress' ? ['IN'] : spec.direction === 'egress' ? ['OUT'] : ['IN', 'OUT']
  const peers = spec.peers && spec.peers.length > 0 ? spec.peers : [undefined]
  return chainsPlan(
    spec,
    ctx,
    dirs.map((dir) => ({
      dir,
      rules: peers.map((peer) => [...scope({ ...spec, ...(peer !== undefined ? { peer } : {}) }, dir), '-j', 'DROP']),
    })),
  )
}

function chainsPlan(
  spec: FaultSpec,
  ctx: PlanContext,
  parts: Array<{ dir: 'IN' | 'OUT'; rules: string[][] }>,
): FaultPlan {
  const apply: Command[] = []
  const revert: Command[] = []
  for (const { dir, rules } of parts) {
    const name = chain(spec.id, dir)
    const jump = [dir === 'IN' ? 'INPUT' : 'OUTPUT', ...expiry(ctx), ...mark(spec), '-j', name]
    apply.push(['iptables', '-w', '-N', name])
    for (const rule of rules) apply.push(['iptables', '-w', '-A', name, ...rule])
    apply.push(['iptables', '-w', '-I', ...insertFirst(jump)])
    revert.push(['iptables', '-w', '-D', ...jump], ['iptables', '-w', '-F', name], ['iptables', '-w', '-X', name])
  }
  return { apply, revert, marks: { qdisc: false, rules: true } }
}

/**
 * New inbound TCP connections to the service port land on the latency proxy (started before this
 * rule). Only SYNs: a connection open before the fault, picked up mid-stream by connection tracking,
 * must not be redirected (it would be reset). So keep-alive connections opened before the fault are
 * not delayed. At the end the bypass (ACCEPT, ahead of the redirect) sends new connections straight to
 * the service while those through the proxy drain.
 */
function proxyPlan(spec: FaultSpec, ctx: PlanContext): FaultPlan {
  const match = [
    'PREROUTING',
    '-p',
    'tcp',
    '--dport',
    String(spec.port),
    '--syn',
    ...(spec.peer ? ['-s', spec.peer] : []),
    ...expiry(ctx),
    ...mark(spec),
  ]
  const redirect = [...match, '-j', 'REDIRECT', '--to-ports', String(ctx.proxyPort)]
  const bypass = [...match, '-j', 'ACCEPT']
  return {
    apply: [['iptables', '-w', '-t', 'nat', '-I', ...insertFirst(redirect)]],
    drain: [['iptables', '-w', '-t', 'nat', '-I', ...insertFirst(bypass)]],
    revert: [
      ['iptables', '-w', '-t', 'nat', '-D', ...redirect],
      ['iptables', '-w', '-t', 'nat', '-D', ...bypass],
    ],
    marks: { qdisc: false, rules: true },
  }
}

function scope(spec: FaultSpec, dir: 'IN' | 'OUT'): string[] {
  const args: string[] = []
  if (spec.peer !== undefined) args.push(dir === 'IN' ? '-s' : '-d', spec.peer)
  if (spec.port !== undefined && spec.type !== 'reset')
    args.push('-p', 'tcp', dir === 'IN' ? '--dport' : '--sport', String(spec.port))
  return args
}

function statistic(percent: number): string[] {
  return ['-m', 'statistic', '--mode', 'random', '--probability', String(Math.min(1, Math.max(0, percent / 100)))]
}

/** The kernel stops matching the rule at this UTC time: a fault nobody reverts still ends. */
function expiry(ctx: PlanContext): string[] {
  return ['-m', 'time', '--datestop', new Date(Math.ceil(ctx.untilEpochMs / 1000) * 1000).toISOString().slice(0, 19)]
}

function mark(spec: FaultSpec): string[] {
  return ['-m', 'comment', '--comment', ruleMark(spec.id)]
}

/** `-I CHAIN 1 rest...`: our rules go first, ahead of anything the platform has. */
function insertFirst(rule: string[]): string[] {
  return [rule[0]!, '1', ...rule.slice(1)]
}

const ms = (value: number): string => `${Math.round(value * 1000) / 1000}ms`
