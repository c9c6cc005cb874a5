import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import type { KernelSupport } from './kernel-probe.js'

/** Whether a kernel with `support` can carry the fault (pure); decides `auto`. Throws a clear error naming what is missing. */
export function preflight(spec: FaultSpec, support: KernelSupport): FaultSpec {
  const netemMissing = (): GauntletError =>
    new GauntletError(
      'unsupported',
      `${spec.type} with mode: netem needs the kernel's netem qdisc (module sch_netem, ` +
        `CONFIG_NET_SCH_NETEM), which this kernel lacks (tc: ` +
        `"${support.errors.netem ?? 'unknown'}"); ` +
        (spec.type === 'delay'
          ? 'use mode: proxy (user-space delay of inbound TCP on `port`) or mode: auto'
          : 'use mode: auto (iptables statistic drops inbound packets instead)'),
    )
  let mechanism = spec.mechanism
  if (spec.type === 'delay' && mechanism === 'auto') mechanism = support.netem ? 'netem' : 'proxy'
  if (spec.type === 'loss' && mechanism === 'auto') mechanism = support.netem ? 'netem' : 'iptables'
  if (mechanism === 'netem' && !support.netem) throw netemMissing()
  if (mechanism === 'proxy' && spec.port === undefined) {
    throw new GauntletError(
      'invalid_scenario',
      `delay through the proxy needs \`port\`, the service port whose inbound TCP it ` +
        `delays${spec.mechanism === 'auto' ? ' (mode: auto chose proxy because this kernel lacks sch_netem)' : ''}`,
    )
  }
  const scoped = spec.port !== undefined || spec.peer !== undefined
  if (mechanism === 'tbf' && (!support.tbf || (scoped && !support.htb))) {
    throw new GauntletError(
      'unsupported',
      `bandwidth needs the kernel's tbf${scoped ? ' and htb' : ''} ` +
        `qdisc: ${support.errors.tbf ?? support.errors.htb ?? 'missing'}`,
    )
  }
  const needs: Array<keyof KernelSupport['iptables']> =
    mechanism === 'iptables' || mechanism === 'proxy' ? ['comment', 'time'] : []
  if (mechanism === 'iptables' && spec.type === 'loss') needs.push('statistic')
  if (spec.type === 'reset') needs.push('reject')
  if (mechanism === 'proxy') needs.push('redirect')
  for (const need of needs) {
    if (!support.iptables[need])
      throw new GauntletError(
        'unsupported',
        `${spec.type} needs the iptables ${need} extension, which this kernel lacks: ${support.errors[need] ?? ''}`,
      )
  }
  return { ...spec, mechanism }
}
