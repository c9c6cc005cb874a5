import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { pollUntil } from '../helpers/recording-server.js'

/**
 * `gauntlet controller --workers <n>`: the embedded agent (--agents local, or auto with no remote agent)
 * runs each run's load on n threads. Seen from the target: thread k of 2 sends the sends j ≡ k (mod 2),
 * numbered {{ seq }} = j, on its own connections, so even and odd numbers never share a socket.
 */
describe('gauntlet controller --workers', () => {
  let target: Server
  let targetUrl: string
  const arrivals: Array<{ seq: number; socket: number }> = []
  let controller: ControllerUnderTest | undefined

  beforeAll(async () => {
    target = createServer((request, response) => {
      const seq = new URL(request.url!, 'http://target').searchParams.get('seq')
      if (seq !== null) arrivals.push({ seq: Number(seq), socket: request.socket.remotePort! })
      request.resume()
      response.end('ok')
    }).listen(0, '127.0.0.1')
    await once(target, 'listening')
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    controller?.process.kill('SIGTERM')
    target.closeAllConnections()
    await new Promise((resolve) => target.close(resolve))
  })

  it('--agents local --workers 2: every send once, each lane of the schedule on its own thread', async () => {
    controller = await startController({ args: ['--agents', 'local', '--workers', '2'] })
    const yaml = `name: two-threads
target: { url: "${targetUrl}/" }
requests:
  - { name: numbered, weight: 1, path: "/n?seq={{ seq }}" }
load:
  steps: [{ rps: 20, duration: 2s }]
thresholds: ["p99 < 1s"]
`
    const started = await controller.api('/api/runs', { body: { yaml } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    const run = await pollUntil(
      async () => (await (await controller!.api(`/api/runs/${id}`)).json()) as { status: string },
      (r) => r.status !== 'running',
      30_000,
      100,
    )
    expect(run.status).toBe('passed')
    expect(arrivals.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    // At 20 rps one thread sends every request on one connection; two threads never mix their lanes.
    const socketsOf = (parity: number) => new Set(arrivals.filter((a) => a.seq % 2 === parity).map((a) => a.socket))
    const [even, odd] = [socketsOf(0), socketsOf(1)]
    expect([...even].filter((socket) => odd.has(socket))).toEqual([])
  }, 60_000)
})
