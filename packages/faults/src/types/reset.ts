import type { FaultTypeUnit } from './fault-type.js'
import { chainsPlan, only, scope } from './plan-parts.js'

/** Reset: inbound TCP to `port` is answered with a RST. */
export const reset: FaultTypeUnit = {
  type: 'reset',
  params: ['port', 'peer'],
  required: 'port',
  mechanisms: ['iptables'],

  build() {
    return { mechanism: 'iptables' }
  },

  decide: only('iptables'),

  needs() {
    return { iptables: ['comment', 'time', 'reject'] }
  },

  plan(spec, ctx) {
    const rule = [
      ...scope({ peer: spec.peer }, 'IN'),
      ...['-p', 'tcp', '--dport', String(spec.port), '-j', 'REJECT', '--reject-with', 'tcp-reset'],
    ]
    return chainsPlan(spec, ctx, [{ dir: 'IN', rules: [rule] }])
  },
}
