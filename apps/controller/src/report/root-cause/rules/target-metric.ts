import { judgeShape } from '../../../decision/leak.js'
import { pct, type Candidate, type RuleContext } from './rule.js'

/** A series is suspected past this growth over its level (the seed's leak rule: 50%). */
export const jumpLimit = 0.5

/**
 * The target's own series (targetMetrics): one that grew more than 50% over its pre-load level and was
 * still past it after the load (the leak rule, judgeShape), or that jumped more than 50% over its
 * prefault level (scrapes before the incident) while the incident lasted, when something went wrong in it
 * (a degraded second, or a guard's trip): a counter (CPU seconds, requests served) always grows, and a
 * harmless fault must not make it a suspect.
 */
export function targetMetricSuspects({ report, incident, degradedAtS }: RuleContext): Candidate[] {
  const wentWrong = degradedAtS !== undefined || incident.cause === 'guard'
  const candidates: Candidate[] = []
  for (const series of report.chart.targetMetrics) {
    const evidence: string[] = []
    const summary = report.targetMetrics.find((s) => s.series === series.name)
    const leak = summary ? judgeShape({ ...summary }, jumpLimit) : undefined
    if (leak?.verdict === 'fail') evidence.push(`${series.name} ${leak.reason} (the leak rule: growth < 50%)`)
    const before = series.points.filter(([atS]) => atS < incident.startS).map(([, v]) => v)
    const during = series.points.filter(
      ([atS]) => atS >= incident.startS && (incident.endS === null || atS <= incident.endS),
    )
    const level = before.length > 0 ? median(before) : undefined
    let jump: number | undefined
    if (wentWrong && level !== undefined && level > 0 && during.length > 0) {
      const peak = during.reduce((a, b) => (b[1] > a[1] ? b : a))
      const growth = (peak[1] - level) / level
      if (growth > jumpLimit) {
        jump = growth
        evidence.push(
          `${series.name} peaked at ${peak[1]} at second ${peak[0]}, +${pct(growth)} over its prefault level ${level} ` +
            `(median of ${before.length} scrape(s) before ${incident.opener})`,
        )
      }
    }
    if (evidence.length === 0) continue
    const leaked = leak?.verdict === 'fail'
    candidates.push({
      kind: 'target-metric',
      subject: series.name,
      reason: leaked
        ? 'the target grew this series and did not give it back'
        : 'this target series jumped past half again its prefault level while it went wrong',
      evidence,
      score: leaked ? 0.4 : 0.3,
      rankedBy: leaked
        ? `grew ${pct(leak.peakGrowth!)} and was still +${pct(leak.endGrowth!)} after the load`
        : `jumped +${pct(jump!)} over its prefault level`,
    })
  }
  return candidates
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
