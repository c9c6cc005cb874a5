import type { Impact, RunReport, Suspect } from '@gauntlet/contracts'
import { formatMs } from '../format-values.js'
import type { Incident } from './incident.js'
import { clock, type Degradation } from './timeline.js'

/**
 * The line a person reads first: what changed (with its 95% interval), from when, the most likely
 * cause and why it ranked first, and whether it recovered. "no cause found" when no rule pointed at
 * anything.
 */
export function headlineOf(
  report: RunReport,
  incident: Incident | undefined,
  impact: Impact | null,
  degradation: Degradation,
  suspects: readonly Suspect[],
): string {
  if (!incident) {
    const failed = report.chart.faults.map((f) => `${f.id}: ${f.error ?? 'not applied'}`).join('; ')
    return `No fault was applied (${failed}) and no guard tripped; no cause found`
  }
  const parts = [`${whatChanged(impact)}${degradation.degraded ? ` from ${clock(degradation.degraded.atS)}` : ''}`]
  parts.push(`under ${incident.opener}`)
  const top = suspects[0]
  parts.push(top ? `most likely ${subjectText(top)}: ${top.rankedBy.split('; ahead of')[0]}` : 'no cause found')
  if (degradation.degraded)
    parts.push(
      degradation.recoveredAtS !== undefined
        ? `recovered at ${clock(degradation.recoveredAtS)}`
        : 'not recovered by run end',
    )
  return parts.join('; ')
}

function whatChanged(impact: Impact | null): string {
  if (!impact) return 'Impact not measurable (no prefault baseline)'
  const drop = impact.successRateDropPp
  if (drop.lower !== null && drop.lower > 0)
    return `Success rate down ${drop.estimate} pp (95%: ${drop.lower} to ${drop.upper ?? '?'} pp)`
  const worst = [...impact.latency].reverse().find((l) => (l.changeMs.lower ?? 0) > 0)
  if (worst)
    return `${worst.quantile} up ${formatMs(worst.changeMs.estimate)} (95% lower bound +${formatMs(worst.changeMs.lower)}) over ${formatMs(worst.baselineMs)}`
  return 'No change beyond the 95% bounds of the prefault baseline'
}

function subjectText(s: Suspect): string {
  if (s.kind === 'fault') return `fault ${s.subject}`
  if (s.kind === 'generator') return 'the load generator (not the target)'
  return `target series ${s.subject}`
}
