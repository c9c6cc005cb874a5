import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import type { KernelSupport } from './kernel-probe.js'
import { faultTypeUnit } from './registry.js'

/**
 * Whether a kernel with `support` can carry the fault (pure): the type's unit decides `auto` and says
 * what its mechanism needs; this checks each need and throws a clear error naming what is missing
 * (the module and config option of a qdisc, and what to use instead when the unit knows).
 */
export function preflight(spec: FaultSpec, support: KernelSupport): FaultSpec {
  const unit = faultTypeUnit(spec.type)
  const mechanism = unit.decide(spec, (qdisc) => support[qdisc])
  if (!(unit.mechanisms as readonly string[]).includes(mechanism))
    throw new GauntletError(
      'invalid_scenario',
      `a ${spec.type} fault runs by ${unit.mechanisms.join(' or ')}, not ${mechanism}`,
    )
  const decided = { ...spec, mechanism }
  const { qdiscs = [], iptables = [], instead } = unit.needs(decided)
  const insteadText = instead ? `; ${instead}` : ''
  const missingQdiscs = qdiscs.filter((qdisc) => !support[qdisc])
  if (missingQdiscs.length > 0) {
    const modules = missingQdiscs.map((q) => `module sch_${q}, CONFIG_NET_SCH_${q.toUpperCase()}`).join('; ')
    throw new GauntletError(
      'unsupported',
      `${spec.type}${unit.params.includes('mode') ? ` with mode: ${mechanism}` : ''} needs the kernel's ` +
        `${qdiscs.join(' and ')} qdisc (${modules}), which this kernel lacks ` +
        `(tc: "${support.errors[missingQdiscs[0]!] ?? 'unknown'}")${insteadText}`,
    )
  }
  for (const need of iptables) {
    if (!support.iptables[need])
      throw new GauntletError(
        'unsupported',
        `${spec.type} needs the iptables ${need} extension, which this kernel lacks: ` +
          `${support.errors[need] ?? ''}${insteadText}`,
      )
  }
  return decided
}
