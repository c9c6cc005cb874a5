import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * M3: 1000 idle event streams were accepted and the server timeouts were 0. Now event streams are
 * capped in all (--max-streams; beyond it 429 problem+json, a closed stream frees its slot), and a client
 * that sends its headers slowly is cut off.
 */
describe('M3: event stream cap and server timeouts', () => {
  let controller: ControllerUnderTest
  let target: Server
  let runId: string
  const streams: AbortController[] = []

  beforeAll(async () => {
    target = createServer((_request, response) => response.end('ok'))
    target.listen(0, '127.0.0.1')
    await once(target, 'listening')
    controller = await startController({ args: ['--max-streams', '5'] })
    // A quiet run that outlives the test: its event streams stay open and idle.
    const yaml =
      `name: quiet\ntarget: { url: "http://127.0.0.1:${(target.address() as AddressInfo).port}/x" }\nload:\n` +
      `  steps: [{ rps: 1, duration: 120s }]\n`
    const started = await controller.api('/api/runs', { body: { yaml } })
    expect(started.status).toBe(201)
    runId = ((await started.json()) as { id: string }).id
  })
  afterAll(async () => {
    for (const stream of streams) stream.abort()
    await controller?.stop()
    target?.closeAllConnections()
    target?.close()
  })

  /** Opens an event stream; when it is served, awaits its first event. */
  async function follow(): Promise<{ response: Response; close: () => void }> {
    const abort = new AbortController()
    streams.push(abort)
    const response = await fetch(`${controller.url}/api/runs/${runId}/events`, {
      headers: { authorization: `Bearer ${controller.token}` },
      signal: abort.signal,
    })
    if (response.status === 200) {
      const first = await response.body!.getReader().read()
      expect(new TextDecoder().decode(first.value as Uint8Array)).toMatch(/^event: status\ndata: \{"status":"running"/)
    }
    return { response, close: () => abort.abort() }
  }

  const openGauge = async (): Promise<number> =>
    Number(/^gauntlet_event_streams_open (\d+)$/m.exec(await (await fetch(`${controller.url}/metrics`)).text())![1])

  it(`serves --max-streams idle streams, answers the next with 429 problem+json, \
and frees a slot when a client goes away`, async () => {
    const open = await Promise.all(Array.from({ length: 5 }, () => follow()))
    expect(open.map((s) => s.response.status)).toEqual([200, 200, 200, 200, 200])
    expect(await openGauge()).toBe(5)

    const refused = await follow()
    expect(refused.response.status).toBe(429)
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await refused.response.json()).toMatchObject({
      status: 429,
      code: 'too_many',
      detail: expect.stringMatching(/--max-streams 5/) as string,
    })

    open[0]!.close()
    // Bounded poll: the server sees the client go away within moments.
    for (let i = 0; i < 50 && (await openGauge()) !== 4; i++) await new Promise((r) => setTimeout(r, 100))
    expect(await openGauge()).toBe(4)
    const replacement = await follow()
    expect(replacement.response.status).toBe(200)
    expect(await controller.healthy()).toBe(true)
  })

  it('with --public-read, keeps half the slots for token holders: anonymous readers cannot lock them out', async () => {
    const open = await startController({ args: ['--max-streams', '4', '--public-read'] })
    const held: AbortController[] = []
    try {
      const yaml =
        `name: quiet2\ntarget: { url: "http://127.0.0.1:${(target.address() as AddressInfo).port}/x" }\nload:\n` +
        `  steps: [{ rps: 1, duration: 60s }]\n`
      const id = ((await (await open.api('/api/runs', { body: { yaml } })).json()) as { id: string }).id
      const stream = async (token: string | undefined): Promise<number> => {
        const abort = new AbortController()
        held.push(abort)
        const response = await fetch(`${open.url}/api/runs/${id}/events`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          signal: abort.signal,
        })
        return response.status
      }
      expect([await stream(undefined), await stream(undefined), await stream(undefined)]).toEqual([200, 200, 429])
      expect([await stream(open.token), await stream(open.token), await stream(open.token)]).toEqual([200, 200, 429])
      expect(await open.healthy()).toBe(true)
    } finally {
      for (const abort of held) abort.abort()
      await open.stop()
    }
  })

  it('cuts off a client that sends its headers slowly (headers timeout)', async () => {
    const socket = connect(Number(new URL(controller.url).port), '127.0.0.1')
    await once(socket, 'connect')
    const startedAt = Date.now()
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
    socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n')
    // One header line every 500 ms, never the blank line that ends them: the socket is never idle.
    const drip = setInterval(() => socket.write(`x-slow-${Date.now()}: 1\r\n`), 500)
    const closed = once(socket, 'close')
    const bound = new Promise((resolve) => setTimeout(resolve, 20_000, 'still open'))
    try {
      expect(await Promise.race([closed.then(() => 'closed'), bound])).toBe('closed')
    } finally {
      clearInterval(drip)
      socket.destroy()
    }
    expect(Date.now() - startedAt).toBeLessThan(15_000)
    expect(received).toMatch(/^HTTP\/1\.1 408/)
    expect(await controller.healthy()).toBe(true)
  }, 30_000)
})
