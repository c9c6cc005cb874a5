import type { FaultSpec } from '@gauntlet/contracts'
import type { FaultTypeUnit } from './fault-type.js'
import { chainsPlan, qdiscPlan, scope } from './plan-parts.js'

/** Loss: netem in the kernel, or, where netem is missing, iptables statistic drops of inbound packets. */
export const loss: FaultTypeUnit = {
  type: 'loss',
  params: ['mode', 'percent', 'correlation', 'port', 'peer'],
  required: 'percent',
  mechanisms: ['netem', 'iptables'],

  build(doc, problem) {
    if (doc.mode === 'proxy')
      problem('mode', 'loss has no proxy mode: netem, or auto (netem where the kernel has it, else iptables)')
    return {
      // The proxy was refused above: what is left is netem or auto.
      mechanism: doc.mode === 'netem' ? 'netem' : 'auto',
      ...(doc.percent !== undefined ? { percent: doc.percent } : {}),
      ...(doc.correlation !== undefined ? { correlation: doc.correlation } : {}),
    }
  },

  decide(spec, has) {
    return spec.mechanism === 'auto' ? (has('netem') ? 'netem' : 'iptables') : spec.mechanism
  },

  needs(spec) {
    return spec.mechanism === 'iptables'
      ? { iptables: ['comment', 'time', 'statistic'] }
      : { qdiscs: ['netem'], instead: 'use mode: auto (iptables statistic drops inbound packets instead)' }
  },

  plan(spec, ctx) {
    if (spec.mechanism !== 'iptables') return qdiscPlan(spec, ctx, lossNetemArgs(spec))
    const drop = [...scope(spec, 'IN'), ...statistic(spec.percent ?? 0), '-j', 'DROP']
    return chainsPlan(spec, ctx, [{ dir: 'IN', rules: [drop] }])
  },
}

export function lossNetemArgs(spec: FaultSpec): string[] {
  return ['netem', 'loss', `${spec.percent ?? 0}%`, ...(spec.correlation !== undefined ? [`${spec.correlation}%`] : [])]
}

function statistic(percent: number): string[] {
  return ['-m', 'statistic', '--mode', 'random', '--probability', String(Math.min(1, Math.max(0, percent / 100)))]
}
