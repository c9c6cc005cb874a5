import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * L1: scheduled fires skipped the allow-list check; a stored scenario with a non-allowed target was
 * probed over TCP by its schedule. Now every run, scheduled or not, passes the run admission before it
 * is stored and before any connection: the fire is recorded as refused and the host sees nothing.
 */
describe('L1: schedules check the target allow-list before any TCP probe', () => {
  let outside: Server
  let outsideUrl: string
  const connections: string[] = []
  let controller: ControllerUnderTest | undefined

  beforeAll(async () => {
    // A host outside the allow-list (127.0.0.2 is loopback on Linux, but the list below names 127.0.0.1 only).
    outside = createServer((socket) => {
      connections.push(`${socket.remoteAddress}:${socket.remotePort}`)
      socket.destroy()
    })
    outside.listen(0, '127.0.0.2')
    await once(outside, 'listening')
    outsideUrl = `http://127.0.0.2:${(outside.address() as AddressInfo).port}/x`

    // The scenario was stored while the controller allowed all of 127.0.0.0/8; it now allows 127.0.0.1 only.
    const wide = await startController({ env: { GAUNTLET_TARGET_ALLOW: '127.0.0.0/8' } })
    try {
      const put = await wide.api('/api/scenarios/outside', {
        method: 'PUT',
        body: { yaml: `name: outside\ntarget: { url: "${outsideUrl}" }\nload:\n  steps: [{ rps: 1, duration: 1s }]\n` },
      })
      expect(put.status).toBe(201)
    } finally {
      await wide.stop()
    }
    controller = await startController({
      db: wide.db,
      env: { GAUNTLET_TARGET_ALLOW: '127.0.0.1' },
      args: ['--min-schedule-interval', '1s'],
    })
  })
  afterAll(async () => {
    await controller?.stop()
    outside?.close()
  })

  it(`records each fire of a schedule of that scenario as refused, stores no run, \
and never connects to the host`, async () => {
    const c = controller!
    const created = await c.api('/api/schedules', {
      body: { scenario: 'outside', cron: '* * * * * *', concurrency: 'allow' },
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }

    // Bounded poll until two fires are recorded (one a second).
    let history: Array<{ outcome: string; detail: string | null; runId: string | null }> = []
    for (let i = 0; i < 100 && history.length < 2; i++) {
      history = (await (await c.api(`/api/schedules/${id}/history`)).json()) as typeof history
      if (history.length < 2) await new Promise((r) => setTimeout(r, 100))
    }
    expect(history.length).toBeGreaterThanOrEqual(2)
    for (const fire of history) {
      expect(fire.outcome).toBe('refused')
      expect(fire.runId).toBeNull()
      expect(fire.detail).toMatch(/127\.0\.0\.2 is not allowed by GAUNTLET_TARGET_ALLOW/)
    }
    expect(await (await c.api('/api/runs')).json()).toEqual([])
    expect((await c.api(`/api/schedules/${id}`, { method: 'PATCH', body: { paused: true } })).status).toBe(200)
    expect(connections).toEqual([])
    expect(await c.healthy()).toBe(true)
  })

  it('refuses the same stored scenario started over REST, without a connection either', async () => {
    const c = controller!
    const response = await c.api('/api/runs', { body: { scenario: 'outside' } })
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 'target_not_allowed' })
    expect(await (await c.api('/api/runs')).json()).toEqual([])
    expect(connections).toEqual([])
    expect(await c.healthy()).toBe(true)
  })
})
