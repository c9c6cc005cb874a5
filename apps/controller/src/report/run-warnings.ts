import type { AgentLoss, FaultRecord, HookDelivery, ObservedStep } from '@gauntlet/contracts'
import { weakEvidenceText } from './step-texts.js'

/** Every warning a finished run carries, in the order a reader needs them. */
export function runWarnings(parts: {
  deliveries: readonly HookDelivery[]
  steps: readonly ObservedStep[]
  losses: readonly AgentLoss[]
  faultLines: readonly string[]
  faults: readonly FaultRecord[]
  /** The target's TLS: verification turned off, and what the pre-run handshake found wrong. */
  tls?: { insecure: boolean; failure?: string | undefined }
}): string[] {
  return [
    ...(parts.tls?.insecure ? [insecureTlsWarning] : []),
    ...tlsFailureLines(parts.steps, parts.tls?.failure),
    ...parts.deliveries.filter((d) => !d.delivered).map(hookWarning),
    ...generatorWarnings(parts.steps),
    ...evidenceWarnings(parts.steps),
    ...parts.losses.map(lossWarning),
    ...parts.faultLines,
    ...parts.faults
      .filter((f) => f.revertedAt !== null && !f.revertVerified)
      .map((f) => `fault ${f.id} did not read back clean after its revert`),
  ]
}

function hookWarning(d: HookDelivery): string {
  const last = d.attempts.at(-1)
  return (
    `hook ${d.event} to ${d.url} was not delivered (${d.attempts.length} attempt(s); ` +
    `last: ${last?.error ?? `status ${last?.status}`})`
  )
}

/** A threshold met by the point estimate but not by its 95% bound: passed, but the data cannot vouch for it. */
function evidenceWarnings(steps: readonly ObservedStep[]): string[] {
  return steps.flatMap((step) =>
    step.thresholds
      .filter((t) => t.pass && t.evidence?.confidence === 'insufficient')
      .map((t) => weakEvidenceText(step, t)),
  )
}

function lossWarning(loss: AgentLoss): string {
  const moved =
    loss.redistributedFrom === null
      ? 'its share was not moved'
      : `the other agents carried its share from second ${loss.redistributedFrom}` +
        (loss.notCarriedBy ? ` (except ${loss.notCarriedBy.join(', ')}, which could not take its part)` : '')
  return (
    `DEGRADED: agent ${loss.agent} was lost (${loss.reason}) after ` +
    `window ${loss.lastWindow}; ${moved}; ${loss.gapWindows} window(s) lack its share`
  )
}

function generatorWarnings(steps: readonly ObservedStep[]): string[] {
  return steps
    .filter((s) => s.generatorLimited)
    .map(
      (s) =>
        `step ${s.index + 1} (${s.plannedRps} rps) was generator-limited: the load generator could not send ` +
        `on schedule (CPU, connections or event-loop lag), so its latency includes client-side queueing`,
    )
}

export const insecureTlsWarning =
  "TLS verification is off (target.tls.insecure: true): the target's certificate was not checked, so " +
  'this run cannot tell the real service from anything answering at its address'

/**
 * Steps whose errors are mostly TLS failures, with the reason (the agents' first, else the pre-run
 * handshake's): "step 1: 300 of 300 requests failed TLS (class tls): certificate has expired".
 */
export function tlsFailureLines(steps: readonly ObservedStep[], failure: string | undefined): string[] {
  return steps
    .filter((s) => (s.errorsByClass.tls ?? 0) > 0 && (s.errorsByClass.tls ?? 0) * 2 >= s.errors)
    .map(
      (s) =>
        `step ${s.index + 1}: ${s.errorsByClass.tls} of ${s.completed} requests failed TLS (class tls): ` +
        (failure ?? 'the handshake with the target failed'),
    )
}
