/**
 * A schedule as the controller stores and serves it (its rules are in the controller's schedule/).
 * Semantics follow Kubernetes CronJobs: see `ConcurrencyPolicy` and `startingDeadlineS`.
 */
export const concurrencyPolicies = ['forbid', 'allow', 'replace'] as const
/**
 * forbid  - a fire while a run of this schedule is in progress is skipped
 * allow   - runs may overlap
 * replace - the run in progress is aborted and a new one started
 */
export type ConcurrencyPolicy = (typeof concurrencyPolicies)[number]

export interface Schedule {
  id: string
  scenario: string
  cron: string
  timezone: string
  concurrency: ConcurrencyPolicy
  /** A fire that cannot start within this long of its time is recorded as missed, never run late. */
  startingDeadlineS: number
  paused: boolean
  createdAt: string
  /** The last scheduled time that was handled (started, skipped or missed). */
  lastScheduledAt: string | null
}

/**
 * What became of one fire time; refused: the run admission said no (allow-list, a cap, the controller's own
 * address...).
 */
export type FireOutcome = 'started' | 'skipped' | 'replaced' | 'missed' | 'refused'
