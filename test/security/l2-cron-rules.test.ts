import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * L2 (and H3's every-second cron): a cron that never fires (`0 0 31 2 *`) was accepted with no next
 * fire time, and a 7-field cron fired every second. Now only 5- or 6-field crons that fire, at most
 * every --min-schedule-interval (default 60 s), up to --max-schedules schedules.
 */
describe('L2: cron rules and the schedule cap', () => {
  let controller: ControllerUnderTest

  beforeAll(async () => {
    controller = await startController({ args: ['--max-schedules', '2'] })
    const yaml = 'name: weekly\ntarget: { url: "http://127.0.0.1:9/x" }\nload:\n  steps: [{ rps: 1, duration: 1s }]\n'
    expect((await controller.api('/api/scenarios/weekly', { method: 'PUT', body: { yaml } })).status).toBe(201)
  })
  afterAll(async () => {
    await controller?.stop()
  })

  const create = (cron: string) => controller.api('/api/schedules', { body: { scenario: 'weekly', cron } })
  const stored = async (): Promise<unknown[]> => (await controller.api('/api/schedules')).json() as Promise<unknown[]>

  it.each([
    ['never fires', '0 0 31 2 *', /never fires/],
    ['has 7 fields', '* * * * * * *', /7 fields; use 5 .* or 6/],
    [
      'fires every second, under the default 60 s minimum',
      '* * * * * *',
      /fires 1s apart; .* every 60s \(--min-schedule-interval\)/,
    ],
    ['fires every 30 s', '*/30 * * * * *', /fires 30s apart/],
  ])('refuses a cron that %s: 400 problem+json at /cron, nothing stored', async (_name, cron, message) => {
    const response = await create(cron)
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const problem = (await response.json()) as { code: string; problems: unknown }
    expect(problem.code).toBe('usage')
    expect(problem.problems).toEqual([{ path: '/cron', message: expect.stringMatching(message) as string }])
    expect(await stored()).toEqual([])
    expect(await controller.healthy()).toBe(true)
  })

  it('accepts fine crons up to --max-schedules, then 429 too_many', async () => {
    const weekly = await create('0 2 * * 3')
    expect(weekly.status).toBe(201)
    expect(((await weekly.json()) as { nextFireTimes: string[] }).nextFireTimes).toHaveLength(3)
    expect((await create('0 * * * * *')).status).toBe(201) // six fields, once a minute
    const third = await create('30 4 * * *')
    expect(third.status).toBe(429)
    expect(third.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await third.json()).toMatchObject({
      status: 429,
      code: 'too_many',
      detail: expect.stringMatching(/2 schedules .*--max-schedules/) as string,
    })
    expect(await stored()).toHaveLength(2)
    expect(await controller.healthy()).toBe(true)
  })
})
