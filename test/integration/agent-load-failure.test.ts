import { maxLoadFailureChars } from '@gauntlet/contracts'
import { afterAll, describe, expect, it } from 'vitest'
import { ControllerLink } from '../../apps/agent/src/service/controller-link.js'
import { endedRunSummary, posingAgentRig, startAssignedRun } from '../helpers/posing-agent.js'

/**
 * An agent whose load failed (a load thread that failed, or was terminated when stuck) tells the
 * controller why with its last report, and the run names that reason for the agent it lost. Before, the
 * run only said "its load ended early (aborted)" and the reason stayed in the agent's own log.
 */
describe("an agent's load failure reaches the run", () => {
  const secret = 'load-failure-secret-7c1e'
  const rig = posingAgentRig(secret)

  const heartbeat = (): Promise<Response> =>
    rig.signed('PUT', '/api/agents/failing', { url: rig.agent.url, capacityRps: 1000, runs: [], version: 'test' })

  it('names the reason the agent gave for the agent it lost', async () => {
    expect((await heartbeat()).status).toBe(200)
    const beating = setInterval(() => void heartbeat(), 500)
    try {
      const runId = await startAssignedRun(rig, 'failing')

      const reason = 'load thread 2 of 2 did not stop within 5 s of being asked and was terminated'
      const done = await rig.signed('POST', '/api/agents/failing/reports', {
        runId,
        windows: [],
        done: { aborted: true, peakConnections: 1, failure: reason },
      })
      expect(done.status).toBeLessThan(300)
      const summary = await endedRunSummary(rig.c, runId)
      expect(summary.agentLosses?.map((l) => [l.agent, l.reason])).toEqual([['failing', `its load failed: ${reason}`]])
      expect(summary.warnings.join('\n')).toContain(`its load failed: ${reason}`)
    } finally {
      clearInterval(beating)
    }
    expect(await rig.c.healthy()).toBe(true)
  }, 30_000)
})

/**
 * The agent's side of the same path: the agent's own link (ControllerLink, as `gauntlet agent` runs it)
 * heartbeats a real controller and sends the done report with the failure, cut to the contract's bound so
 * the controller does not refuse the report for a long message. Only the load itself is stood in for.
 */
describe("an agent's own link sends its load failure", () => {
  const secret = 'load-failure-link-secret-2b9d'
  const rig = posingAgentRig(secret)
  let link: ControllerLink | undefined
  afterAll(() => link?.stop())

  it(`reports a failure longer than ${maxLoadFailureChars} characters cut to that bound, and the run names it`, async () => {
    const logged: string[] = []
    let registered!: () => void
    const firstReply = new Promise<void>((resolve) => (registered = resolve))
    link = new ControllerLink({
      controllerUrl: rig.c.url,
      name: 'linked',
      secret,
      heartbeat: () => ({ url: rig.agent.url, capacityRps: 1000, runs: [], version: 'test' }),
      onReply: () => registered(),
      onControllerLost: () => logged.push('controller lost'),
      onRunRejected: (runId) => logged.push(`rejected ${runId}`),
      log: (line) => logged.push(line),
    })
    link.start(() => true)
    await firstReply

    const runId = await startAssignedRun(rig, 'linked')

    const reason = `load thread 1 of 1 failed: ${'the target sent something the parser could not read; '.repeat(8)}`
    expect(reason.length).toBeGreaterThan(maxLoadFailureChars)
    link.reportDone(runId, { aborted: true, peakConnections: 1 }, reason)

    const summary = await endedRunSummary(rig.c, runId)
    const cut = reason.slice(0, maxLoadFailureChars)
    expect(summary.agentLosses?.map((l) => [l.agent, l.reason])).toEqual([['linked', `its load failed: ${cut}`]])
    // Nothing was refused or dropped on the way.
    expect(logged).toEqual([])
  }, 30_000)
})
