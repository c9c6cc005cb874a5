import { GauntletError, type ConcurrencyPolicy, type Schedule } from '@gauntlet/contracts'
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { defaultLimits, type ControllerLimits } from '../config/controller-settings.js'
import type { Clock } from '../run/ports.js'
import type { RunManager } from '../run/run-manager.js'
import { yamlPool } from '../scenario/yaml-pool.js'
import type { ScenarioStore, ScheduleFire, ScheduleStore } from '../storage/run-store.js'
import { cronProblem, decideFire, dueFireTimes, nextFireTimes } from './schedule.js'

interface NewSchedule {
  scenario: string
  cron: string
  timezone: string
  concurrency: ConcurrencyPolicy
  startingDeadlineS: number
}

/** The caps schedules are created under (--max-schedules, --min-schedule-interval). */
type ScheduleLimits = Pick<ControllerLimits, 'maxSchedules' | 'minScheduleIntervalS'>

/** setTimeout's ceiling (~24.8 days): longer waits are taken in hops. */
const maxTimerMs = 2 ** 31 - 1

/**
 * Fires schedules: one timer per active schedule, armed for its next fire time. Every fire time is
 * handled exactly once (started, skipped, replaced, missed or refused) and recorded; a controller that
 * was down catches up at start, where fire times older than their startingDeadline are recorded as
 * missed. Fires start runs through RunManager.start, so the run admission (allow-list, caps, the
 * controller's own address) decides them as it decides REST runs; a fire it turns down is 'refused'.
 * Emits 'fire' with each recorded ScheduleFire (tests and /metrics follow it).
 */
export class Scheduler extends EventEmitter {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private stopped = false
  private readonly runsBySchedule = new Map<string, Set<string>>()

  constructor(
    private readonly deps: {
      store: ScheduleStore & ScenarioStore
      runs: RunManager
      clock: Clock
      limits?: ScheduleLimits
    },
  ) {
    super()
  }

  private get limits(): ScheduleLimits {
    return this.deps.limits ?? defaultLimits
  }

  /** At controller start: catch up on what was missed while down, then arm every schedule. */
  async start(): Promise<void> {
    for (const schedule of this.deps.store.listSchedules()) {
      if (schedule.paused) continue
      // A schedule stored before these rules (or under looser flags) that breaks them is paused, not fired.
      if (this.cronProblemOf(schedule)) {
        this.deps.store.putSchedule({ ...schedule, paused: true })
        continue
      }
      const due = dueFireTimes(schedule, this.deps.clock.now())
      // Only the latest overdue time may still start (if within its deadline); older ones are missed.
      for (const time of due.slice(0, -1))
        this.record(schedule, time, { outcome: 'missed', reason: 'controller was not running' }, null)
      const latest = due.at(-1)
      if (latest) await this.fire(schedule.id, latest)
      this.arm(schedule.id)
    }
  }

  stop(): void {
    this.stopped = true
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  create(input: NewSchedule): Schedule {
    const { maxSchedules } = this.limits
    if (this.deps.store.listSchedules().length >= maxSchedules) {
      throw new GauntletError(
        'too_many',
        `${maxSchedules} schedules exist, the most this controller keeps (--max-schedules); delete one first`,
      )
    }
    this.assertCronUsable(input)
    if (!this.deps.store.getScenario(input.scenario))
      throw new GauntletError('not_found', `no scenario named "${input.scenario}"`)
    const schedule: Schedule = {
      id: `sch-${randomBytes(4).toString('hex')}`,
      ...input,
      paused: false,
      createdAt: this.deps.clock.now().toISOString(),
      lastScheduledAt: null,
    }
    this.deps.store.putSchedule(schedule)
    this.arm(schedule.id)
    return schedule
  }

  setPaused(id: string, paused: boolean): Schedule {
    const schedule = this.get(id)
    if (!paused) this.assertCronUsable(schedule)
    // Resuming does not fire what was skipped while paused: it starts from now.
    const updated = {
      ...schedule,
      paused,
      lastScheduledAt: paused ? schedule.lastScheduledAt : this.deps.clock.now().toISOString(),
    }
    this.deps.store.putSchedule(updated)
    if (paused) this.disarm(id)
    else this.arm(id)
    return updated
  }

  delete(id: string): void {
    this.disarm(id)
    if (!this.deps.store.deleteSchedule(id)) throw notFound(id)
  }

  get(id: string): Schedule {
    const schedule = this.deps.store.getSchedule(id)
    if (!schedule) throw notFound(id)
    return schedule
  }

  nextFireTimes(schedule: Schedule, count: number): string[] {
    return schedule.paused ? [] : nextFireTimes(schedule, this.deps.clock.now(), count).map((d) => d.toISOString())
  }

  private cronProblemOf(schedule: Pick<Schedule, 'cron' | 'timezone'>): string | undefined {
    return cronProblem(schedule.cron, schedule.timezone, this.limits.minScheduleIntervalS, this.deps.clock.now())
  }

  private assertCronUsable(schedule: Pick<Schedule, 'cron' | 'timezone'>): void {
    const problem = this.cronProblemOf(schedule)
    if (problem)
      throw new GauntletError('usage', `cron "${schedule.cron}" in ${schedule.timezone}: ${problem}`, {
        problems: [{ path: '/cron', message: problem }],
      })
  }

  private arm(id: string): void {
    this.disarm(id)
    // A fire still in flight when the controller stops must not arm a new timer (it would hold the process).
    if (this.stopped) return
    const schedule = this.deps.store.getSchedule(id)
    if (!schedule || schedule.paused) return
    const now = this.deps.clock.now()
    const after =
      schedule.lastScheduledAt && new Date(schedule.lastScheduledAt) > now ? new Date(schedule.lastScheduledAt) : now
    const [next] = nextFireTimes(schedule, after, 1)
    if (!next) return
    const delay = next.getTime() - now.getTime()
    this.timers.set(
      id,
      setTimeout(
        () => {
          this.timers.delete(id)
          if (delay > maxTimerMs) return this.arm(id) // a hop of a long wait
          // A fire that cannot even be recorded (storage failing, or closed at shutdown) must not end the
          // process: the schedule is re-armed for its next time, or stays disarmed if that fails too.
          void this.fire(id, next)
            .catch(() => undefined)
            .finally(() => {
              try {
                this.arm(id)
              } catch {
                // storage is gone: nothing to arm against
              }
            })
        },
        Math.min(Math.max(0, delay), maxTimerMs),
      ),
    )
  }

  private disarm(id: string): void {
    clearTimeout(this.timers.get(id))
    this.timers.delete(id)
  }

  private async fire(id: string, scheduledAt: Date): Promise<void> {
    const schedule = this.deps.store.getSchedule(id)
    if (!schedule || schedule.paused) return
    const running = [...(this.runsBySchedule.get(id) ?? [])].filter((runId) => this.deps.runs.isActive(runId))
    const decision = decideFire(schedule, scheduledAt, this.deps.clock.now(), running.length)
    if (decision.outcome === 'missed' || decision.outcome === 'skipped')
      return this.record(schedule, scheduledAt, decision, null)
    // The replaced runs end (and free their --max-runs slots) before the new one is admitted.
    if (decision.outcome === 'replaced') await Promise.all(running.map((runId) => this.deps.runs.abortAndWait(runId)))
    try {
      const stored = this.deps.store.getScenario(schedule.scenario)
      if (!stored) throw new GauntletError('not_found', `scenario "${schedule.scenario}" no longer exists`)
      // On a YAML thread: a stored heavy scenario must not stall the event loop at each fire.
      const scenario = await yamlPool().parse(stored.yaml, `scenario ${stored.name}`)
      const runId = await this.deps.runs.start(scenario, stored.yaml)
      const mine = this.runsBySchedule.get(id) ?? new Set<string>()
      for (const old of mine) if (!this.deps.runs.isActive(old)) mine.delete(old)
      mine.add(runId)
      this.runsBySchedule.set(id, mine)
      this.record(schedule, scheduledAt, decision, runId)
    } catch (error) {
      // A GauntletError is a stated refusal (run admission, a scenario no longer valid or gone);
      // anything else is a failure to start.
      if (error instanceof GauntletError)
        this.record(schedule, scheduledAt, { outcome: 'refused', reason: `refused: ${error.message}` }, null)
      else this.record(schedule, scheduledAt, { outcome: 'missed', reason: 'could not start: internal error' }, null)
    }
  }

  private record(
    schedule: Schedule,
    scheduledAt: Date,
    decision: { outcome: ScheduleFire['outcome']; reason?: string },
    runId: string | null,
  ): void {
    const fire: ScheduleFire = {
      scheduleId: schedule.id,
      scheduledAt: scheduledAt.toISOString(),
      handledAt: this.deps.clock.now().toISOString(),
      outcome: decision.outcome,
      runId,
      detail: decision.reason ?? null,
    }
    this.deps.store.recordFire(fire)
    this.emit('fire', fire)
  }
}

function notFound(id: string): GauntletError {
  return new GauntletError('not_found', `no schedule with id "${id}"`)
}
