import type { Schedule } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import {
  cronProblem,
  decideFire,
  dueFireTimes,
  nextFireTimes,
  shortestGapS,
} from '../../apps/controller/src/schedule/schedule.js'

const schedule = (over: Partial<Schedule> = {}): Schedule => ({
  id: 's1',
  scenario: 'weekly',
  cron: '0 2 * * 3',
  timezone: 'Europe/Berlin',
  concurrency: 'forbid',
  startingDeadlineS: 300,
  paused: false,
  createdAt: '2026-11-01T00:00:00.000Z',
  lastScheduledAt: null,
  ...over,
})

describe('schedule rules', () => {
  it('computes fire times in the schedule time zone (Wednesday 02:00 Berlin = 01:00 UTC in winter)', () => {
    expect(nextFireTimes(schedule(), new Date('2026-11-27T00:00:00Z'), 2).map((d) => d.toISOString())).toEqual([
      '2026-12-02T01:00:00.000Z',
      '2026-12-09T01:00:00.000Z',
    ])
  })

  it.each([
    ['61 * * * *', 'UTC', /minute/],
    ['* * *', 'UTC', /.+/],
    ['0 2 * * 3', 'Mars/Base', /Mars\/Base/],
  ])('reports an unusable cron %j in %s', (cron, tz, message) => {
    expect(cronProblem(cron, tz)).toMatch(message)
  })

  it('accepts a valid cron', () => expect(cronProblem('*/5 * * * *', 'UTC')).toBeUndefined())

  const after = new Date('2026-12-02T00:00:00Z')
  it.each([
    ['0 0 31 2 *', 60, /never fires/],
    ['0 0 30 2 *', 60, /never fires/],
    ['* * * * * * *', 60, /7 fields; use 5 .* or 6/],
    ['0 0 1 1 * 2027 x', 0, /7 fields/],
    ['* * * *', 0, /4 fields/],
    ['* * * * * *', 60, /fires 1s apart; .* every 60s \(--min-schedule-interval\)/],
    ['*/30 * * * * *', 60, /fires 30s apart/],
    // Two fires a minute apart once a day are still two fires a minute apart.
    ['0,1 3 * * *', 120, /fires 60s apart; .* every 120s/],
    ['*/5 * * * *', 3600, /fires 300s apart/],
  ])('refuses %j under a %is minimum: %s', (cron, minIntervalS, message) => {
    expect(cronProblem(cron, 'UTC', minIntervalS, after)).toMatch(message)
  })

  it.each([
    ['* * * * *', 60],
    ['0 * * * * *', 60],
    ['0 2 * * 3', 60],
    ['0 0 29 2 *', 60],
    ['@hourly', 3600],
    ['*/10 * * * * *', 10],
  ])('accepts %j under a %is minimum', (cron, minIntervalS) => {
    expect(cronProblem(cron, 'UTC', minIntervalS, after)).toBeUndefined()
  })

  it('measures the shortest gap between consecutive fire times', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s))
    expect(shortestGapS([at(0), at(50), at(55), at(120)])).toBe(5)
    expect(shortestGapS([at(0)])).toBeUndefined()
  })

  it('lists the scheduled times that came since the last handled one', () => {
    const due = dueFireTimes(
      schedule({ cron: '0 * * * *', timezone: 'UTC', lastScheduledAt: '2026-11-27T01:00:00.000Z' }),
      new Date('2026-11-27T04:30:00Z'),
    )
    expect(due.map((d) => d.toISOString())).toEqual([
      '2026-11-27T02:00:00.000Z',
      '2026-11-27T03:00:00.000Z',
      '2026-11-27T04:00:00.000Z',
    ])
  })

  it.each([
    ['on time, nothing running', 'forbid', 0, 0, 'started'],
    ['late but within the deadline', 'forbid', 299, 0, 'started'],
    ['later than the deadline: missed, not run late', 'allow', 301, 0, 'missed'],
    ['forbid with a run in progress', 'forbid', 0, 1, 'skipped'],
    ['allow with a run in progress', 'allow', 0, 1, 'started'],
    ['replace with a run in progress', 'replace', 0, 1, 'replaced'],
    ['replace with nothing running', 'replace', 0, 0, 'started'],
  ] as const)('%s -> %s', (_name, concurrency, lateS, running, outcome) => {
    const at = new Date('2026-12-02T01:00:00Z')
    expect(decideFire(schedule({ concurrency }), at, new Date(at.getTime() + lateS * 1000), running).outcome).toBe(
      outcome,
    )
  })
})
