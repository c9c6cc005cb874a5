import { afterAll, describe, expect, it } from 'vitest'
import { readControllerSettings } from '../../apps/controller/src/config/controller-settings.js'
import { inProcessController } from '../helpers/in-process-controller.js'

/**
 * The defaults a controller runs with when no flag says otherwise (issue 10, "caps, with flags and sane
 * defaults"). The security tests run with smaller caps to reach them quickly; these pin the shipped ones,
 * written out here so that changing a default is a visible decision.
 */
describe('controller defaults', () => {
  it('caps runs, rates, durations, schedules, agents, streams and the hook grace', () => {
    expect(readControllerSettings({ host: '127.0.0.1' }, {}).limits).toEqual({
      maxRuns: 4,
      maxRunRps: 50_000,
      maxRunDurationS: 86_400,
      maxSchedules: 100,
      minScheduleIntervalS: 60,
      maxAgents: 1000,
      agentExpiryS: 86_400,
      maxStreams: 100,
      hookGraceMs: 10_000,
    })
  })

  const controller = inProcessController()
  afterAll(() => controller.stop())

  it("bounds every connection in time on the controller's server", async () => {
    await controller.app.ready()
    const server = controller.app.server
    expect(server.headersTimeout).toBe(10_000)
    expect(server.requestTimeout).toBe(30_000)
    expect(server.keepAliveTimeout).toBe(72_000)
    // fastify's connectionTimeout is the socket idle timeout.
    expect(server.timeout).toBe(60_000)
  })
})
