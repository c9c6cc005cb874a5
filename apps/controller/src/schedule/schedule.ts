import type { Schedule } from '@gauntlet/contracts'
import { Cron } from 'croner'

/**
 * Schedules: pure rules, no timers and no I/O (the Scheduler service owns those).
 * Semantics follow Kubernetes CronJobs, which SREs already know:
 *   concurrency forbid  - a fire while a run of this schedule is in progress is skipped
 *               allow   - runs may overlap
 *               replace - the run in progress is aborted and a new one started
 *   startingDeadline    - a fire that cannot start within this long of its time is recorded as missed,
 *                         never run late (after a controller restart, say)
 */

/** What the rules decide for one fire time (the Scheduler records it as a FireOutcome). */
type FireDecision =
  | { outcome: 'started' }
  | { outcome: 'replaced' }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'missed'; reason: string }

/** Fire times looked at for a cron's shortest gap: its field pattern repeats, so the gap shows early. */
const sampledFires = 100

/**
 * Why a cron expression or time zone is unusable, or undefined when it is fine. Beyond syntax: only
 * 5 fields (minute precision) or 6 (seconds first) or a nickname (@hourly); it must fire at all
 * (`0 0 31 2 *` never does); and no two of its next fires may be closer than `minIntervalS`.
 */
export function cronProblem(
  cron: string,
  timezone: string,
  minIntervalS = 0,
  after: Date = new Date(),
): string | undefined {
  const fields = cron.trim().split(/\s+/)
  if (!fields[0]?.startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    return `has ${fields.length} fields; use 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`
  }
  let next: Date[]
  try {
    next = new Cron(cron, { timezone, paused: true }).nextRuns(sampledFires, after)
  } catch (error) {
    return (error as Error).message.split('. Original error')[0]
  }
  if (next.length === 0) return 'never fires: no date matches it'
  const gapS = shortestGapS(next)
  if (gapS !== undefined && gapS < minIntervalS) {
    return `fires ${gapS}s apart; schedules may fire at most every ${minIntervalS}s (--min-schedule-interval)`
  }
  return undefined
}

/** The shortest time between consecutive fire times, in seconds; undefined with fewer than two. */
export function shortestGapS(times: Date[]): number | undefined {
  let shortest: number | undefined
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i]!.getTime() - times[i - 1]!.getTime()) / 1000
    if (shortest === undefined || gap < shortest) shortest = gap
  }
  return shortest
}

export function nextFireTimes(schedule: Pick<Schedule, 'cron' | 'timezone'>, after: Date, count: number): Date[] {
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).nextRuns(count, after)
}

/**
 * Scheduled times that have come and not been handled, oldest first: after lastScheduledAt (or the
 * schedule's creation) up to now. At most `limit`, the most recent ones.
 */
export function dueFireTimes(schedule: Schedule, now: Date, limit = 100): Date[] {
  const since = new Date(schedule.lastScheduledAt ?? schedule.createdAt)
  const due: Date[] = []
  for (const time of new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }).nextRuns(10_000, since)) {
    if (time > now) break
    due.push(time)
  }
  return due.slice(-limit)
}

export function decideFire(schedule: Schedule, scheduledAt: Date, now: Date, runsInProgress: number): FireDecision {
  const lateS = (now.getTime() - scheduledAt.getTime()) / 1000
  if (lateS > schedule.startingDeadlineS) {
    return {
      outcome: 'missed',
      reason: `could not start within startingDeadline ${schedule.startingDeadlineS}s (${Math.round(lateS)}s late)`,
    }
  }
  if (runsInProgress === 0 || schedule.concurrency === 'allow') return { outcome: 'started' }
  if (schedule.concurrency === 'replace') return { outcome: 'replaced' }
  return { outcome: 'skipped', reason: 'concurrency forbid: the previous run of this schedule is still in progress' }
}
