import { randomBytes } from 'node:crypto'
import { exec } from './netns.js'

/** What the kernel can do for faults, found by really adding and deleting each thing. */
export interface KernelSupport {
  netem: boolean
  tbf: boolean
  htb: boolean
  /** iptables matches and targets the fault types use. */
  iptables: { statistic: boolean; reject: boolean; redirect: boolean; time: boolean; comment: boolean }
  /** Why a check failed, by name (the tool's own words). */
  errors: Record<string, string>
}

let cached: Promise<KernelSupport> | undefined

/** Probed once per process, in a throwaway network namespace that is always deleted. */
export function kernelSupport(): Promise<KernelSupport> {
  cached ??= probe()
  return cached
}

async function probe(): Promise<KernelSupport> {
  const ns = `gauntlet-probe-${randomBytes(4).toString('hex')}`
  const created = await exec('ip', ['netns', 'add', ns])
  if (created.code !== 0) return nothingSupported({ netns: created.stderr.trim() || `exit ${created.code}` })
  try {
    return await probeWith((args) => exec('ip', ['netns', 'exec', ns, ...args]))
  } finally {
    await exec('ip', ['netns', 'del', ns])
  }
}

/**
 * Probes in the network namespace this process runs in: for a probe holder, a container started with
 * a fresh namespace of its own (network mode none) and only NET_ADMIN, which cannot `ip netns add`.
 * Whatever it adds (a veth pair, rules in INPUT/PREROUTING) it deletes again; the namespace is thrown
 * away with the container anyway.
 */
export async function probeThisNamespace(): Promise<KernelSupport> {
  try {
    return await probeWith((args) => exec(args[0]!, args.slice(1)))
  } finally {
    await exec('ip', ['link', 'del', 'gnt0'])
  }
}

function nothingSupported(errors: Record<string, string>): KernelSupport {
  return {
    netem: false,
    tbf: false,
    htb: false,
    iptables: { statistic: false, reject: false, redirect: false, time: false, comment: false },
    errors,
  }
}

async function probeWith(inNs: (args: string[]) => Promise<{ code: number; stderr: string }>): Promise<KernelSupport> {
  const errors: Record<string, string> = {}
  const check = async (name: string, add: string[], del: string[]): Promise<boolean> => {
    const added = await inNs(add)
    if (added.code !== 0) {
      errors[name] = added.stderr.trim() || `exit ${added.code}`
      return false
    }
    await inNs(del)
    return true
  }
  // A veth pair: this kernel has no dummy interfaces, and every container has veth.
  await inNs(['ip', 'link', 'add', 'gnt0', 'type', 'veth', 'peer', 'name', 'gnt1'])
  await inNs(['ip', 'link', 'set', 'gnt0', 'up'])
  const qdisc = (name: string, args: string[]) =>
    check(
      name,
      ['tc', 'qdisc', 'add', 'dev', 'gnt0', 'root', 'handle', '1:', ...args],
      ['tc', 'qdisc', 'del', 'dev', 'gnt0', 'root'],
    )
  const rule = (name: string, args: string[], table = 'filter', chainName = 'INPUT') =>
    check(
      name,
      ['iptables', '-w', '-t', table, '-A', chainName, ...args],
      ['iptables', '-w', '-t', table, '-D', chainName, ...args],
    )
  return {
    netem: await qdisc('netem', ['netem', 'delay', '1ms']),
    tbf: await qdisc('tbf', ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '100ms']),
    htb: await qdisc('htb', ['htb', 'default', '1']),
    iptables: {
      statistic: await rule('statistic', ['-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'DROP']),
      reject: await rule('reject', ['-p', 'tcp', '--dport', '9', '-j', 'REJECT', '--reject-with', 'tcp-reset']),
      redirect: await rule(
        'redirect',
        ['-p', 'tcp', '--dport', '9', '-j', 'REDIRECT', '--to-ports', '10'],
        'nat',
        'PREROUTING',
      ),
      time: await rule('time', ['-m', 'time', '--datestop', '2038-01-01T00:00:00', '-j', 'ACCEPT']),
      comment: await rule('comment', ['-m', 'comment', '--comment', 'gauntlet:probe', '-j', 'ACCEPT']),
    },
    errors,
  }
}
