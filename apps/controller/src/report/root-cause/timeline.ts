import type { RunReport, TimelineEntry } from '@gauntlet/contracts'
import { recoverySustainS } from './degradation.js'
import type { Incident } from './incident.js'

/** What happened to the run's seconds, found by degradation.ts. */
export interface Degradation {
  degraded?: { atS: number; second: number; why: string }
  /** First second back inside the baseline's bounds after the incident; undefined: not by the run's end. */
  recoveredAtS?: number
}

/**
 * The incident in order: faults in place and reverted (mechanism, injector, agent), the first degraded
 * second, each guard trip and clear, the rollback, each hook delivery, and recovery (or its absence).
 * `startMs` is run second 0's epoch ms: entries carry run seconds and ISO times.
 */
export function buildTimeline(
  report: RunReport,
  incident: Incident | undefined,
  degradation: Degradation,
  startMs: number,
): TimelineEntry[] {
  const entries: TimelineEntry[] = []
  const add = (atS: number, kind: TimelineEntry['kind'], text: string): void => {
    entries.push({ atS, at: new Date(startMs + atS * 1000).toISOString(), kind, text })
  }
  for (const f of report.chart.faults) {
    const how = [
      `${f.type} via ${f.mechanism}`,
      f.injector ? `${f.injector} injector` : '',
      f.agent ? `agent ${f.agent}` : '',
    ]
      .filter(Boolean)
      .join(', ')
    if (f.startS === null) {
      add(f.plannedStartS, 'fault-start', `fault ${f.id} (${how}) was never applied: ${f.error ?? 'no reason stored'}`)
      continue
    }
    add(f.startS, 'fault-start', `fault ${f.id} in place (${how})`)
    if (f.endS !== null) add(f.endS, 'fault-end', `fault ${f.id} reverted`)
    else add(f.plannedEndS, 'fault-end', `fault ${f.id} was never reverted${f.error ? `: ${f.error}` : ''}`)
  }
  if (degradation.degraded)
    add(
      degradation.degraded.atS,
      'degraded',
      `first degraded second (second ${degradation.degraded.second}): ${degradation.degraded.why}`,
    )
  for (const m of report.chart.marks) {
    if (m.kind === 'trip' || m.kind === 'dry-run') add(m.atS, 'trip', m.label)
    if (m.kind === 'clear') add(m.atS, 'clear', m.label)
  }
  if (report.rollback) {
    const atS = (Date.parse(report.rollback.at) - startMs) / 1000
    add(round(atS), 'rollback', `rolled back in step ${report.rollback.step + 1}: ${report.rollback.reason}`)
  }
  for (const h of report.hooks) {
    const first = h.attempts[0]
    const last = h.attempts.at(-1)
    const atS = first ? round((Date.parse(first.at) - startMs) / 1000) : report.run.durationS
    const outcome = h.delivered
      ? `delivered (${h.attempts.length} attempt${h.attempts.length === 1 ? '' : 's'})`
      : `NOT delivered after ${h.attempts.length} attempt(s)${last?.error ? `: ${last.error}` : last?.status ? `: HTTP ${last.status}` : ''}`
    add(atS, 'hook', `hook ${h.event} to ${h.url}: ${outcome}`)
  }
  if (incident && degradation.degraded) {
    const endS = incident.endS
    if (degradation.recoveredAtS !== undefined)
      add(
        degradation.recoveredAtS,
        'recovered',
        `back inside the prefault baseline's 95% bounds for ${recoverySustainS} s in a row`,
      )
    else
      add(
        lastSecond(report),
        'not-recovered',
        endS === null
          ? `not recovered by run end (${incident.cause === 'fault' ? 'a fault was still in place' : 'the trip never cleared'})`
          : `not recovered by run end (never ${recoverySustainS} s in a row back inside the prefault baseline's 95% bounds)`,
      )
  }
  // Stable: entries at the same second keep the order above (cause before effect).
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.atS - b.e.atS || a.i - b.i)
    .map(({ e }) => e)
}

function lastSecond(report: RunReport): number {
  const t = report.chart.seconds.t
  return t.length > 0 ? t.at(-1)! + 1 : report.run.durationS
}

const round = (s: number): number => Math.round(s * 10) / 10

/** Run seconds as a clock: 72.4 -> 1:12.4. */
export function clock(atS: number): string {
  const m = Math.floor(atS / 60)
  const s = Math.round((atS - m * 60) * 10) / 10
  return `${m}:${s < 10 ? '0' : ''}${s}`
}
