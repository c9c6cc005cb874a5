import { GauntletError, parseDurationMs, type FaultSpec } from '@gauntlet/contracts'
import type { FaultPlan, FaultTypeUnit, PlanContext } from './fault-type.js'
import { expiry, insertFirst, mark, ms, qdiscPlan } from './plan-parts.js'

/** Delay: netem in the kernel (every packet), or the latency proxy in user space (inbound TCP on `port`). */
export const delay: FaultTypeUnit = {
  type: 'delay',
  params: ['mode', 'latency', 'jitter', 'correlation', 'distribution', 'port', 'peer'],
  required: 'latency',
  mechanisms: ['netem', 'proxy'],

  build(doc, problem) {
    const latencyMs = doc.latency === undefined ? undefined : parseDurationMs(doc.latency)!
    const jitterMs = doc.jitter === undefined ? undefined : parseDurationMs(doc.jitter)!
    if (doc.mode === 'proxy' && doc.port === undefined)
      problem('port', 'mode: proxy delays inbound TCP to the service port: set port')
    if (latencyMs !== undefined && latencyMs > 60_000) problem('latency', 'at most 60s')
    if (jitterMs !== undefined && latencyMs !== undefined && jitterMs > latencyMs)
      problem('jitter', 'jitter larger than the latency would make delays negative')
    if (doc.distribution !== undefined && !jitterMs) problem('distribution', 'a distribution needs jitter')
    if (doc.correlation !== undefined && !jitterMs) problem('correlation', 'correlation applies to jitter: set jitter')
    return {
      mechanism: doc.mode ?? 'auto',
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(jitterMs !== undefined ? { jitterMs } : {}),
      ...(doc.correlation !== undefined ? { correlation: doc.correlation } : {}),
      ...(doc.distribution !== undefined ? { distribution: doc.distribution } : {}),
    }
  },

  decide(spec, has) {
    const mechanism = spec.mechanism === 'auto' ? (has('netem') ? 'netem' : 'proxy') : spec.mechanism
    if (mechanism === 'proxy' && spec.port === undefined)
      throw new GauntletError(
        'invalid_scenario',
        `delay through the proxy needs \`port\`, the service port whose inbound TCP it ` +
          `delays${spec.mechanism === 'auto' ? ' (mode: auto chose proxy because this kernel lacks sch_netem)' : ''}`,
      )
    return mechanism
  },

  needs(spec) {
    return spec.mechanism === 'proxy'
      ? { iptables: ['comment', 'time', 'redirect'] }
      : { qdiscs: ['netem'], instead: 'use mode: proxy (user-space delay of inbound TCP on `port`) or mode: auto' }
  },

  plan(spec, ctx) {
    return spec.mechanism === 'proxy' ? proxyPlan(spec, ctx) : qdiscPlan(spec, ctx, delayNetemArgs(spec))
  },
}

/** netem delay, with jitter, its correlation and distribution. */
export function delayNetemArgs(spec: FaultSpec): string[] {
  const args = ['netem', 'delay', ms(spec.latencyMs ?? 0)]
  if (spec.jitterMs) {
    args.push(ms(spec.jitterMs))
    if (spec.correlation !== undefined) args.push(`${spec.correlation}%`)
    if (spec.distribution) args.push('distribution', spec.distribution)
  }
  return args
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
