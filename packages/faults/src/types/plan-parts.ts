import { createHash } from 'node:crypto'
import type { FaultSpec } from '@gauntlet/contracts'
import type { Command, FaultPlan, Mechanism, PlanContext } from './fault-type.js'

/** The pieces fault types build their plans from: our qdisc, our chains, the marks and the expiry. */

export const qdiscHandle = '7a47:'
const leafHandle = '7a48:'
export const ruleMark = (id: string): string => `gauntlet:${id}`
export const isGauntletRule = (line: string): boolean => /--comment "?gauntlet:/.test(line)
export const chainPrefix = 'GNT-'
/** Our chains: GNT-<hash of the fault id>-IN/OUT (iptables allows 28 characters). */
export const chainStem = (id: string): string =>
  `${chainPrefix}${createHash('sha1').update(id).digest('hex').slice(0, 12)}-`
const chain = (id: string, dir: Direction): string => `${chainStem(id)}${dir}`

export type Direction = 'IN' | 'OUT'

/**
 * A root qdisc of our own. Scoped to a port or peer, it sits under an htb root (this kernel has no
 * prio) whose default class passes everything else untouched; the u32 filter picks the traffic.
 */
export function qdiscPlan(spec: FaultSpec, ctx: PlanContext, leaf: string[]): FaultPlan {
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

/**
 * iptables rules in chains of our own, each entered from INPUT (IN) or OUTPUT (OUT) by a marked,
 * self-expiring jump; revert removes the jump, then flushes and deletes the chain.
 */
export function chainsPlan(
  spec: FaultSpec,
  ctx: PlanContext,
  parts: Array<{ dir: Direction; rules: string[][] }>,
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

/** Matches for traffic with `peer` and/or to (IN) or from (OUT) TCP `port`. */
export function scope(on: { peer?: string; port?: number }, dir: Direction): string[] {
  const args: string[] = []
  if (on.peer !== undefined) args.push(dir === 'IN' ? '-s' : '-d', on.peer)
  if (on.port !== undefined) args.push('-p', 'tcp', dir === 'IN' ? '--dport' : '--sport', String(on.port))
  return args
}

/** The kernel stops matching the rule at this UTC time: a fault nobody reverts still ends. */
export function expiry(ctx: PlanContext): string[] {
  return ['-m', 'time', '--datestop', new Date(Math.ceil(ctx.untilEpochMs / 1000) * 1000).toISOString().slice(0, 19)]
}

export function mark(spec: FaultSpec): string[] {
  return ['-m', 'comment', '--comment', ruleMark(spec.id)]
}

/** `-I CHAIN 1 rest...`: our rules go first, ahead of anything the platform has. */
export function insertFirst(rule: string[]): string[] {
  return [rule[0]!, '1', ...rule.slice(1)]
}

/** `decide` for a type with one mechanism: `auto` means it; any other is left for preflight to refuse. */
export const only =
  (mechanism: Mechanism) =>
  (spec: FaultSpec): FaultSpec['mechanism'] =>
    spec.mechanism === 'auto' ? mechanism : spec.mechanism

/** tc's milliseconds, keeping microseconds. */
export const ms = (value: number): string => `${Math.round(value * 1000) / 1000}ms`
