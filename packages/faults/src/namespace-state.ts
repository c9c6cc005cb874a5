import { chainPrefix, chainStem, isGauntletRule, qdiscHandle, ruleMark } from './fault-plan.js'
import { mustRun, type Netns } from './netns.js'

/** What of Gauntlet's own is present in one network namespace: read back, never assumed. */
export interface GauntletMarks {
  /** Interfaces whose root qdisc is ours (handle 7a47:). */
  qdiscs: string[]
  /** Marked rules, as `iptables -S` prints them, with their table. */
  rules: Array<{ table: 'filter' | 'nat'; rule: string }>
  chains: string[]
}

export async function readMarks(netns: Netns, pid: number): Promise<GauntletMarks> {
  // `qdisc tbf 7a47: dev eth0 root refcnt 2 ...`: a root qdisc with our handle.
  const qdiscs = (await mustRun(netns, pid, ['tc', 'qdisc', 'show']))
    .split('\n')
    .map((line) => new RegExp(`^qdisc \\S+ ${qdiscHandle} dev (\\S+) root`).exec(line)?.[1])
    .filter((iface): iface is string => iface !== undefined)
  const rules: GauntletMarks['rules'] = []
  const chains: string[] = []
  for (const table of ['filter', 'nat'] as const) {
    for (const line of (await mustRun(netns, pid, ['iptables', '-w', '-t', table, '-S'])).split('\n')) {
      if (isGauntletRule(line)) rules.push({ table, rule: line })
      const chain = /^-N (\S+)/.exec(line)?.[1]
      if (chain?.startsWith(chainPrefix)) chains.push(chain)
    }
  }
  return { qdiscs, rules, chains }
}

/** Marks of one fault (all of Gauntlet's when `id` is undefined). */
export function marksOf(marks: GauntletMarks, id?: string): GauntletMarks {
  if (id === undefined) return marks
  return {
    qdiscs: marks.qdiscs,
    rules: marks.rules.filter((r) => r.rule.includes(ruleMark(id))),
    chains: marks.chains.filter((c) => c.startsWith(chainStem(id))),
  }
}

export const isClean = (marks: GauntletMarks, qdiscsToo = true): boolean =>
  (!qdiscsToo || marks.qdiscs.length === 0) && marks.rules.length === 0 && marks.chains.length === 0

/**
 * Removes every mark found (of one fault, or all of Gauntlet's): rules by their own text turned into
 * a delete, then our chains, then our root qdiscs. Used for recovery, where no plan survives.
 */
export async function removeMarks(netns: Netns, pid: number, marks: GauntletMarks, qdiscsToo: boolean): Promise<void> {
  for (const { table, rule } of marks.rules) {
    // `-A CHAIN args...` -> `-D CHAIN args...`; our comments never contain spaces, so splitting is safe.
    const args = rule.replace(/"/g, '').split(' ')
    await netns.run(pid, ['iptables', '-w', '-t', table, '-D', ...args.slice(1)])
  }
  for (const chain of marks.chains) {
    await netns.run(pid, ['iptables', '-w', '-F', chain])
    await netns.run(pid, ['iptables', '-w', '-X', chain])
  }
  if (qdiscsToo)
    for (const iface of marks.qdiscs)
      await netns.run(pid, ['tc', 'qdisc', 'del', 'dev', iface, 'root', 'handle', qdiscHandle])
}

/** The interface carrying `ip` in the namespace (never assume eth0). */
export async function interfaceOf(netns: Netns, pid: number, ip: string): Promise<string> {
  for (const line of (await mustRun(netns, pid, ['ip', '-o', '-4', 'addr', 'show'])).split('\n')) {
    const match = /^\d+:\s+(\S+)\s+inet\s+([0-9.]+)\//.exec(line)
    if (match && match[2] === ip) return match[1]!.replace(/@.*$/, '')
  }
  throw new Error(`no interface carries ${ip}`)
}
