import type { ScheduleFire, ScheduleStore } from '../storage/run-store.js'
import type { Schedule } from '@gauntlet/contracts'
import type { Scheduler } from './scheduler.js'

/** A schedule as the API shows it: with its next fire times (none while paused). */
export type ScheduleView = Schedule & { nextFireTimes: string[] }

/** How many fire times a schedule's view shows, and how many past fires its history keeps. */
const shownFireTimes = 3
const historyLength = 200

/** What the API reads of schedules; the Scheduler makes every change. An unknown id is a not_found. */
export class ScheduleQueries {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: ScheduleStore,
  ) {}

  view(schedule: Schedule): ScheduleView {
    return { ...schedule, nextFireTimes: this.scheduler.nextFireTimes(schedule, shownFireTimes) }
  }

  list(): ScheduleView[] {
    return this.store.listSchedules().map((schedule) => this.view(schedule))
  }

  get(id: string): ScheduleView {
    return this.view(this.scheduler.get(id))
  }

  /** What became of its latest fire times, newest first. */
  history(id: string): ScheduleFire[] {
    this.scheduler.get(id)
    return this.store.scheduleHistory(id, historyLength)
  }
}
