import type { Decision, DecisionAction, DecisionVerdict } from '@gauntlet/contracts'
import type { Evidence } from './evidence.js'

/** Everything a decision states: what was judged, its verdict, what the run did, and the evidence. */
export interface DecisionFacts {
  at: Date
  step: number
  source: NonNullable<Decision['source']>
  /** The guard's name, or a threshold's text. */
  guard: string
  condition: string
  verdict: DecisionVerdict
  action: DecisionAction
  dryRun?: boolean
  reason?: string
  evidence: Evidence
  /** Run seconds the evidence covers: [startS, endS). */
  span: { startS: number; endS: number }
  baseline?: NonNullable<Decision['evidence']['baseline']>
}

/** The one builder of Decision records (thresholds, evaluation spans, step gates, leak guards). */
export function decisionRecord(facts: DecisionFacts): Decision {
  const { n, estimate, lower, upper, limit, confidence } = facts.evidence
  return {
    at: facts.at.toISOString(),
    step: facts.step,
    source: facts.source,
    guard: facts.guard,
    condition: facts.condition,
    verdict: facts.verdict,
    action: facts.action,
    ...(facts.dryRun ? { dryRun: true } : {}),
    ...(facts.reason !== undefined ? { reason: facts.reason } : {}),
    evidence: {
      n,
      estimate,
      lower,
      upper,
      limit,
      confidence,
      windowStart: facts.span.startS,
      windowEnd: facts.span.endS,
      ...(facts.baseline ? { baseline: facts.baseline } : {}),
    },
  }
}

/** Evidence of nothing: no sample, no bound, so never a pass. */
export function noEvidence(limit: number, n = 0): Evidence {
  return { n, estimate: null, lower: null, upper: null, limit, confidence: 'insufficient' }
}
