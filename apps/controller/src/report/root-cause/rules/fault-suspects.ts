import { errorClasses, type ErrorClass, type FaultSpan } from '@gauntlet/contracts'
import { formatMs } from '../../format-values.js'
import { classCounts } from '../impact.js'
import { clock } from '../timeline.js'
import { explainBandwidth } from './bandwidth-fault.js'
import { explainDelay } from './delay-fault.js'
import type { FaultExplanation, FaultFacts } from './fault-explanation.js'
import { explainLoss } from './loss-fault.js'
import { explainPartition } from './partition-fault.js'
import { explainReset } from './reset-fault.js'
import { pct, type Candidate, type RuleContext } from './rule.js'

/** One explainer per fault type (a new type: one file, one line here). */
export const faultExplainers: Record<string, (facts: FaultFacts) => FaultExplanation> = {
  delay: explainDelay,
  bandwidth: explainBandwidth,
  loss: explainLoss,
  partition: explainPartition,
  reset: explainReset,
}

/**
 * The faults in place when the degradation started, each scored by what its mechanism explains of what
 * was seen: the share of the excess errors (errors beyond the baseline's rate of each class) in the
 * classes it causes, or 0.5 for a latency rise beyond the 95% bounds when it raises latency. A fault that
 * explains nothing that was seen is not a suspect, and nothing is suspected when nothing degraded.
 */
export function faultSuspects(context: RuleContext): Candidate[] {
  const { report, incident, impact, plan } = context
  const latencyRise = (impact?.latency ?? []).filter((l) => (l.changeMs.lower ?? 0) > 0)
  const dropped = (impact?.successRateDropPp.lower ?? 0) > 0
  // Without a degraded second, a change the pooled seconds bound away from zero still counts from the start.
  const anchorS = context.degradedAtS ?? (dropped || latencyRise.length > 0 ? incident.startS : undefined)
  if (anchorS === undefined) return []
  const excess = excessErrors(context)
  const totalExcess = errorClasses.reduce((n, c) => n + excess[c], 0)
  const baseP50Ms = impact?.latency.find((l) => l.quantile === 'p50')?.baselineMs ?? null
  const candidates: Candidate[] = []
  for (const span of report.chart.faults.filter((f) => activeAt(f, anchorS))) {
    const explain = faultExplainers[span.type]
    if (!explain) continue
    const record = report.faults.find((f) => f.id === span.id)
    const spec = plan?.faults.find((f) => f.id === span.id)
    const explanation = explain({
      span,
      ...(record ? { record } : {}),
      ...(spec ? { spec } : {}),
      ...(plan ? { requestTimeoutMs: plan.requestTimeoutMs } : {}),
      baseP50Ms,
    })
    const explained = explanation.errors.filter((c) => excess[c] > 0)
    const share = totalExcess > 0 ? explained.reduce((n, c) => n + excess[c], 0) / totalExcess : 0
    const latency = explanation.latency && latencyRise.length > 0
    if (share === 0 && !latency) continue
    const latencyText = latencyRise.map((l) => `${l.quantile} +${formatMs(l.changeMs.estimate)}`).join(', ')
    candidates.push({
      kind: 'fault',
      subject: span.id,
      reason: explanation.reason,
      evidence: [
        `${span.type} via ${span.mechanism}, in place ${clock(span.startS!)}-${span.endS === null ? 'run end' : clock(span.endS)}; ` +
          `the degradation began at ${clock(anchorS)}`,
        ...explanation.evidence,
        ...explained.map(
          (c) => `${c}: ${Math.round(excess[c])} errors beyond the baseline's rate of that class during the incident`,
        ),
        ...(latency ? [`latency rose beyond its 95% bounds: ${latencyText}`] : []),
      ],
      score: share >= 0.5 || !latency ? share : Math.max(share, 0.5),
      rankedBy:
        share > 0 && (share >= 0.5 || !latency)
          ? `explains ${pct(share)} of the excess errors (${explained.join(', ')})`
          : `explains the latency rise (${latencyText}, beyond the 95% bounds)`,
    })
  }
  return candidates
}

/** A fault in place during second `atS` (any part of it). */
function activeAt(f: FaultSpan, atS: number): boolean {
  return f.startS !== null && f.startS < atS + 1 && (f.endS === null || f.endS > atS)
}

/** Errors of each class during the incident beyond what the baseline's rate of that class predicts. */
function excessErrors({ report, incident }: RuleContext): Record<ErrorClass, number> {
  const before = classCounts(report, incident.baseline)
  const during = classCounts(report, incident.during)
  return Object.fromEntries(
    errorClasses.map((c) => {
      const expected = before.completed > 0 ? (before.errors[c] / before.completed) * during.completed : 0
      return [c, Math.max(0, during.errors[c] - expected)]
    }),
  ) as Record<ErrorClass, number>
}
