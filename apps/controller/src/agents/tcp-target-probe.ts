import { connect } from 'node:net'
import type { TargetProbe } from '../run/ports.js'

/**
 * A TCP connect to the target's host and port: proves it is reachable without sending a request that
 * could have side effects (a POST probe would create one extra order).
 */
export const tcpTargetProbe: TargetProbe = (url, timeoutMs) => {
  const parsed = new URL(url)
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (reason: string | undefined): void => {
      socket.destroy()
      resolve(reason)
    }
    socket.setTimeout(Math.min(timeoutMs, 5000), () => done(`no answer from ${host}:${port} within ${Math.min(timeoutMs, 5000)}ms`))
    socket.once('connect', () => done(undefined))
    socket.once('error', (error: NodeJS.ErrnoException) => done(`${error.code ?? 'error'} connecting to ${host}:${port}`))
  })
}
