import type { WindowReport } from '@gauntlet/contracts'
import { LoadGenerator } from '@gauntlet/agent'
import { totalErrors } from '@gauntlet/contracts'
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServers, listenOnFreePort } from '../helpers/generator.js'

/**
 * A proxy delay catches only new connections, so the run moves its pool when the fault starts and
 * before the proxy drains. The proxy may end a connection once the run says it moved: the move must
 * not be reported done while a request is still in flight on an old socket, or that request races
 * the proxy's close (the reset CI once saw as a proxy delay ended).
 */
describe('moving a run to new sockets (reconnectAll)', () => {
  const servers: Server[] = []
  afterEach(() => closeServers(servers))

  it('resolves only after every request in flight on an old socket settled; no old socket is used after', async () => {
    // The event log orders what the server saw against when the move resolved (one event loop).
    const log: Array<{ socket: Socket; event: 'arrived' | 'answered' } | { event: 'asked' | 'moved' }> = []
    const server = createServer((request, response) => {
      log.push({ socket: request.socket, event: 'arrived' })
      setTimeout(() => {
        log.push({ socket: request.socket, event: 'answered' })
        response.end('ok')
      }, 150)
    })
    servers.push(server)
    const port = await listenOnFreePort(server)
    const windows: WindowReport[] = []
    const generator = new LoadGenerator({
      target: { protocol: 'http:', hostname: '127.0.0.1', port, path: '/', method: 'GET', headers: {} },
      steps: [{ rps: 40, durationS: 3, step: 0 }],
      timeoutMs: 2000,
      connections: 10,
      maxConnections: 10,
    })
    let moved: Promise<void> | undefined
    await generator.run({
      onWindow: (w) => {
        windows.push(w)
        if (w.index === 0) {
          log.push({ event: 'asked' })
          moved = generator.reconnectAll().then(() => void log.push({ event: 'moved' }))
        }
      },
    })
    await moved

    const asked = log.findIndex((e) => e.event === 'asked')
    const done = log.findIndex((e) => e.event === 'moved')
    expect(asked).toBeGreaterThan(0)
    expect(done).toBeGreaterThan(asked)
    const before = log.slice(0, asked)
    const oldSockets = new Set(before.flatMap((e) => ('socket' in e ? [e.socket] : [])))
    const arrivedBefore = before.filter((e) => e.event === 'arrived').length
    const answeredBefore = before.filter((e) => e.event === 'answered').length
    // Requests were in flight when the move was asked for, so the test says something.
    expect(arrivedBefore - answeredBefore).toBeGreaterThan(0)
    // Each of them was answered before the move resolved.
    const answeredByMove = log.slice(0, done).filter((e) => e.event === 'answered').length
    expect(answeredByMove).toBeGreaterThanOrEqual(arrivedBefore)
    // After the move no request arrives on a socket of the old pool.
    const lateOnOld = log.slice(done).filter((e) => e.event === 'arrived' && oldSockets.has(e.socket))
    expect(lateOnOld).toEqual([])
    expect(log.slice(done).some((e) => e.event === 'arrived')).toBe(true)
    expect(windows.reduce((n, w) => n + totalErrors(w.errors), 0)).toBe(0)
    expect(windows.reduce((n, w) => n + w.ok, 0)).toBe(120)
  })
})
