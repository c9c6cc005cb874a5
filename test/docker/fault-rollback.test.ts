import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { GauntletMarks } from '@gauntlet/faults'
import { dockerGate, faultSuite, startHttpdContainer } from '../helpers/docker.js'
import { marksIn, noMarks, runScenario } from '../helpers/fault-load.js'

/**
 * The chaos run's rollback on a real engine: a partition makes the target's requests time out, the
 * abort guard trips on the window that shows it, and the run reverts the fault first, stops the load,
 * and only then calls onRollback. The receiver reads the target's namespace back the moment the hook
 * arrives: nothing of the fault may be left by then.
 */
const gate = await dockerGate()

gate.describe('rollback order with a real fault (real engine)', () => {
  let receiver: Server
  const arrivals: Array<{ at: number; marks: GauntletMarks; body: Record<string, unknown> }> = []
  let targetPid = 0
  const { tempDir } = faultSuite()

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = ''
      request.on('data', (chunk) => (body += chunk))
      request.on('end', () => {
        const at = Date.now()
        void marksIn(targetPid).then((marks) => {
          arrivals.push({ at, marks, body: JSON.parse(body) as Record<string, unknown> })
          response.writeHead(204).end()
        })
      })
    }).listen(0, '127.0.0.1')
    await once(receiver, 'listening')
  })
  afterAll(() => void receiver.close())

  it(`a partition trips the abort guard: the fault is reverted (and reads back clean) \
before onRollback arrives`, async () => {
    const target = await startHttpdContainer()
    targetPid = target.pid
    const dir = tempDir('gauntlet-rollback-')
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/rollback`
    const run = await runScenario(dir, {
      name: 'rollback-order',
      target: { url: `${target.url}/index.html`, timeout: '500ms' },
      load: { steps: [{ rps: 50, duration: '30s' }] },
      faults: [{ type: 'partition', target: { container: target.name }, at: '3s', duration: '25s' }],
      decision: {
        guards: [{ name: 'errors-abort', kind: 'abort', require: 'error_rate < 15%', minSamples: 50, maxWindow: '2s' }],
      },
      hooks: { onRollback: [{ url: hook }] },
    })
    expect(run.code, run.stderr).toBe(1)
    const summary = run.summary!
    expect(summary).toMatchObject({ status: 'failed', verdict: 'fail', rollback: { guard: 'errors-abort', step: 0 } })
    const trip = summary.decisions!.find((d) => d.action === 'rollback')!
    expect(trip.evidence.lower!).toBeGreaterThan(0.15)
    // The run stopped well before its 30 s: the partition began at 3 s, the trip followed within a few windows.
    expect(run.windows.length).toBeLessThan(15)

    const [fault] = summary.faults!
    expect(fault).toMatchObject({ revertVerified: true })
    expect(fault!.notes.join(' ')).toMatch(/rollback/)
    expect(arrivals).toHaveLength(1)
    const [arrival] = arrivals
    expect(arrival!.body).toMatchObject({ event: 'onRollback', guard: 'errors-abort', step: 0 })
    // Order: revert, then (load stopped, then) the hook; and nothing of the fault left when it arrived.
    expect(Date.parse(fault!.revertedAt!)).toBeLessThanOrEqual(arrival!.at)
    expect(arrival!.marks).toEqual(noMarks)
    console.log(
      `rollback: tripped at second ${trip.evidence.windowEnd}; fault ` +
        `reverted ${arrival!.at - Date.parse(fault!.revertedAt!)} ms before the hook arrived`,
    )
  })
})
