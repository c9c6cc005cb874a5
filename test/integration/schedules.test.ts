import type { ConcurrencyPolicy, Schedule } from '@gauntlet/contracts'
import { parseAllowList } from '@gauntlet/http'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InProcessAgent } from '../../apps/controller/src/agents/in-process-agent.js'
import { tcpTargetProbe } from '../../apps/controller/src/agents/tcp-target-probe.js'
import { AgentRegistry } from '../../apps/controller/src/agents/agent-registry.js'
import { buildApp } from '../../apps/controller/src/http/app.js'
import type { Clock } from '../../apps/controller/src/run/ports.js'
import { RunAdmission } from '../../apps/controller/src/run/run-admission.js'
import { RunManager } from '../../apps/controller/src/run/run-manager.js'
import { Scheduler } from '../../apps/controller/src/schedule/scheduler.js'
import type { ScheduleFire } from '../../apps/controller/src/storage/run-store.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { defaultLimits, readControllerSettings } from '../../apps/controller/src/config/controller-settings.js'

/** Schedules fire real runs on a real SQLite file; each fire time is handled once and recorded. */
describe('schedules', () => {
  let target: ChildServer
  let store: SqliteStore
  let runs: RunManager
  const schedulers: Scheduler[] = []
  const realClock: Clock = { now: () => new Date() }
  /** A schedule of the test scenario that fires every second, under a concurrency policy. */
  const perSecond = (concurrency: ConcurrencyPolicy) => ({
    scenario: 'sched',
    cron: '* * * * * *',
    timezone: 'UTC',
    concurrency,
    startingDeadlineS: 5,
  })

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
    store = new SqliteStore(join(tempDir(), 'schedules.db'))
    runs = new RunManager({
      store,
      agent: new InProcessAgent(),
      probe: tcpTargetProbe(parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW')),
      clock: realClock,
    })
    const yaml = `name: sched\ntarget: { url: "${target.url}/x" }\nload:\n  steps: [{ rps: 20, duration: 3s }]\n`
    store.putScenario({ name: 'sched', yaml, updatedAt: new Date().toISOString() })
  })
  afterEach(async () => {
    for (const scheduler of schedulers.splice(0)) scheduler.stop()
    await runs.shutdown()
  })
  afterAll(async () => {
    store.close()
    await target.stop()
  })

  function scheduler(clock: Clock = realClock): Scheduler {
    // Every-second crons make the concurrency policies quick to see: the 60 s minimum is lowered here.
    const s = new Scheduler({ store, runs, clock, limits: { maxSchedules: 100, minScheduleIntervalS: 1 } })
    schedulers.push(s)
    return s
  }

  /** Resolves with the first `count` fires of a schedule (bounded by the test timeout). */
  function fires(s: Scheduler, id: string, count: number): Promise<ScheduleFire[]> {
    const seen: ScheduleFire[] = []
    return new Promise((resolve) => {
      s.on('fire', (fire: ScheduleFire) => {
        if (fire.scheduleId !== id) return
        seen.push(fire)
        if (seen.length === count) resolve(seen)
      })
    })
  }

  it('forbid: fires while its run is in progress are skipped, and recorded', async () => {
    const s = scheduler()
    const schedule = s.create(perSecond('forbid'))
    const [first, second, third] = await fires(s, schedule.id, 3)
    expect(first!.outcome).toBe('started')
    expect(runs.isActive(first!.runId!)).toBe(true) // a 3 s run outlives the next two fires
    expect([second!.outcome, third!.outcome]).toEqual(['skipped', 'skipped'])
    expect(second!.detail).toMatch(/concurrency forbid/)
    expect(store.scheduleHistory(schedule.id, 10).map((f) => f.outcome)).toEqual(['skipped', 'skipped', 'started'])
  })

  it('allow: runs overlap', async () => {
    const s = scheduler()
    const schedule = s.create(perSecond('allow'))
    const [first, second] = await fires(s, schedule.id, 2)
    expect([first!.outcome, second!.outcome]).toEqual(['started', 'started'])
    expect(first!.runId).not.toBe(second!.runId)
    expect(runs.isActive(first!.runId!) && runs.isActive(second!.runId!)).toBe(true)
  })

  it('replace: the run in progress is aborted for the new one', async () => {
    const s = scheduler()
    const schedule = s.create(perSecond('replace'))
    const [first, second] = await fires(s, schedule.id, 2)
    expect([first!.outcome, second!.outcome]).toEqual(['started', 'replaced'])
    s.stop()
    await runs.shutdown()
    expect(store.getRun(first!.runId!)!.status).toBe('aborted')
  })

  describe('under --max-runs 1', () => {
    let capped: RunManager
    let s: Scheduler
    beforeAll(() => {
      const limits = { ...defaultLimits, maxRuns: 1 }
      capped = new RunManager(
        {
          store,
          agent: new InProcessAgent(),
          probe: tcpTargetProbe(parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW')),
          clock: realClock,
        },
        new RunAdmission({
          targetAllow: parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW'),
          hookAllow: parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW'),
          limits,
        }),
      )
    })
    afterEach(async () => {
      s.stop()
      await capped.shutdown()
    })
    const cappedScheduler = () =>
      (s = new Scheduler({
        store,
        runs: capped,
        clock: realClock,
        limits: { maxSchedules: 100, minScheduleIntervalS: 1 },
      }))

    it('allow: a fire beyond the cap is recorded as refused, with the reason, and starts nothing', async () => {
      const schedule = cappedScheduler().create(perSecond('allow'))
      const [first, second] = await fires(s, schedule.id, 2)
      expect(first!.outcome).toBe('started')
      expect(second).toMatchObject({
        outcome: 'refused',
        runId: null,
        detail: expect.stringMatching(/^refused: .*--max-runs 1/) as string,
      })
      expect(capped.activeCount).toBe(1)
    })

    it('replace: the replaced run ends before the new one is admitted, so the cap does not refuse it', async () => {
      const schedule = cappedScheduler().create(perSecond('replace'))
      const [first, second] = await fires(s, schedule.id, 2)
      expect([first!.outcome, second!.outcome]).toEqual(['started', 'replaced'])
      expect(store.getRun(first!.runId!)!.status).toBe('aborted')
      expect(capped.isActive(second!.runId!)).toBe(true)
    })
  })

  /** A clock frozen at a moment, for what happens when a controller starts late. */
  const frozenAt = (iso: string): Clock => ({ now: () => new Date(iso) })
  const hourly = (over: Partial<Schedule>): Schedule => ({
    id: `sch-test-${Math.random().toString(16).slice(2, 8)}`,
    scenario: 'sched',
    cron: '0 * * * *',
    timezone: 'UTC',
    concurrency: 'forbid',
    startingDeadlineS: 60,
    paused: false,
    createdAt: '2026-11-27T01:30:00.000Z',
    lastScheduledAt: null,
    ...over,
  })

  it('a controller that starts after the deadline records the missed fires instead of running late', async () => {
    const schedule = hourly({})
    store.putSchedule(schedule)
    await scheduler(frozenAt('2026-11-27T04:30:30.000Z')).start()
    const history = store.scheduleHistory(schedule.id, 10)
    expect(history.map((f) => [f.scheduledAt, f.outcome])).toEqual([
      ['2026-11-27T04:00:00.000Z', 'missed'],
      ['2026-11-27T03:00:00.000Z', 'missed'],
      ['2026-11-27T02:00:00.000Z', 'missed'],
    ])
    expect(history[0]!.detail).toMatch(/startingDeadline 60s \(1830s late\)/)
    expect(store.getSchedule(schedule.id)!.lastScheduledAt).toBe('2026-11-27T04:00:00.000Z')
  })

  it('a controller that starts within the deadline runs the latest fire, late, once', async () => {
    const schedule = hourly({ lastScheduledAt: '2026-11-27T03:00:00.000Z' })
    store.putSchedule(schedule)
    await scheduler(frozenAt('2026-11-27T04:00:30.000Z')).start()
    const history = store.scheduleHistory(schedule.id, 10)
    expect(history.map((f) => [f.scheduledAt, f.outcome])).toEqual([['2026-11-27T04:00:00.000Z', 'started']])
    expect(runs.isActive(history[0]!.runId!)).toBe(true)
    // Starting again (another restart at the same moment) does not fire it twice.
    await scheduler(frozenAt('2026-11-27T04:00:31.000Z')).start()
    expect(store.scheduleHistory(schedule.id, 10)).toHaveLength(1)
  })

  it('a stored schedule that breaks the cron rules (stored before them) is paused at start, never fired', async () => {
    const everySecond = hourly({ cron: '* * * * * *' })
    store.putSchedule(everySecond)
    const s = new Scheduler({ store, runs, clock: realClock })
    schedulers.push(s)
    await s.start()
    expect(store.getSchedule(everySecond.id)!.paused).toBe(true)
    expect(s.nextFireTimes(store.getSchedule(everySecond.id)!, 3)).toEqual([])
    expect(() => s.setPaused(everySecond.id, false)).toThrow(/fires 1s apart/)
    expect(store.scheduleHistory(everySecond.id, 10)).toEqual([])
  })

  it('REST: create, list with next fire times, pause, history, delete; bad input is problem+json', async () => {
    const s = scheduler()
    const app = buildApp({
      store,
      runs,
      scheduler: s,
      settings: readControllerSettings({ host: '127.0.0.1' }, {}),
      agents: new AgentRegistry(),
    })
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/api/schedules',
        payload: {
          scenario: 'sched',
          cron: '0 2 * * 3',
          timezone: 'Europe/Berlin',
          concurrency: 'forbid',
          startingDeadline: 600,
        },
      })
      expect(created.statusCode).toBe(201)
      const schedule = created.json<Schedule & { nextFireTimes: string[] }>()
      expect(schedule).toMatchObject({
        scenario: 'sched',
        cron: '0 2 * * 3',
        timezone: 'Europe/Berlin',
        concurrency: 'forbid',
        startingDeadlineS: 600,
        paused: false,
      })
      expect(schedule.nextFireTimes).toHaveLength(3)
      expect(new Date(schedule.nextFireTimes[0]!).getUTCDay()).toBe(3)

      const listed = (await app.inject('/api/schedules')).json<Array<{ id: string }>>()
      expect(listed.map((x) => x.id)).toContain(schedule.id)
      const paused = await app.inject({
        method: 'PATCH',
        url: `/api/schedules/${schedule.id}`,
        payload: { paused: true },
      })
      expect(paused.json()).toMatchObject({ paused: true, nextFireTimes: [] })
      expect((await app.inject(`/api/schedules/${schedule.id}/history`)).json()).toEqual([])
      expect(
        (
          await app.inject({
            method: 'DELETE',
            url: `/api/schedules/${schedule.id}`,
            headers: { 'content-type': 'application/json' },
          })
        ).statusCode,
      ).toBe(204)
      expect((await app.inject(`/api/schedules/${schedule.id}`)).statusCode).toBe(404)

      const badCron = await app.inject({
        method: 'POST',
        url: '/api/schedules',
        payload: { scenario: 'sched', cron: '61 * * * *' },
      })
      expect(badCron.statusCode).toBe(400)
      expect(badCron.json()).toMatchObject({
        code: 'usage',
        problems: [{ path: '/cron', message: expect.stringMatching(/minute/) as string }],
      })
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/api/schedules',
            payload: { scenario: 'sched', cron: '* * * * *', timezone: 'Mars/Base' },
          })
        ).statusCode,
      ).toBe(400)
      expect(
        (await app.inject({ method: 'POST', url: '/api/schedules', payload: { scenario: 'nope', cron: '* * * * *' } }))
          .statusCode,
      ).toBe(404)
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/api/schedules',
            payload: { scenario: 'sched', cron: '* * * * *', concurrency: 'sometimes' },
          })
        ).statusCode,
      ).toBe(400)
    } finally {
      await app.close()
    }
  })
})
