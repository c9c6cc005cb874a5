import type { FaultTypeUnit } from './fault-type.js'
import { chainsPlan, only, scope, type Direction } from './plan-parts.js'
import { isIpv4OrCidr } from './quantities.js'

/** Partition: iptables drops in one or both directions, of all traffic or only that with `peers`. */
export const partition: FaultTypeUnit = {
  type: 'partition',
  params: ['direction', 'peers', 'port', 'peer'],
  mechanisms: ['iptables'],

  build(doc, problem) {
    ;(doc.peers ?? []).forEach((address, i) => {
      if (!isIpv4OrCidr(address)) problem(`peers/${i}`, `"${address}" is not an IPv4 address or CIDR`)
    })
    if (doc.peer !== undefined && doc.peers !== undefined) problem('peer', 'give peers (a list) or peer, not both')
    return {
      mechanism: 'iptables',
      direction: doc.direction ?? 'both',
      ...(doc.peers !== undefined ? { peers: doc.peers } : {}),
    }
  },

  decide: only('iptables'),

  needs() {
    return { iptables: ['comment', 'time'] }
  },

  plan(spec, ctx) {
    const dirs: Direction[] =
      spec.direction === 'ingress' ? ['IN'] : spec.direction === 'egress' ? ['OUT'] : ['IN', 'OUT']
    const peers = spec.peers && spec.peers.length > 0 ? spec.peers : [spec.peer]
    return chainsPlan(
      spec,
      ctx,
      dirs.map((dir) => ({
        dir,
        rules: peers.map((peer) => [...scope({ peer, port: spec.port }, dir), '-j', 'DROP']),
      })),
    )
  },
}
