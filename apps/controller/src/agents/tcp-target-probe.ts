import { GauntletError } from '@gauntlet/contracts'
import { allowListLookup, normalizeHost, type AllowList } from '@gauntlet/http'
import { connect, isIP } from 'node:net'
import type { TargetProbe } from '../run/ports.js'

/**
 * A TCP connect to the target's host and port: proves it is reachable without sending a request that
 * could have side effects (a POST probe would create one extra order). The connection is held to
 * GAUNTLET_TARGET_ALLOW on the address it resolves to (a name may not lead to loopback or metadata
 * addresses the list does not allow).
 */
export function tcpTargetProbe(allow: AllowList): TargetProbe {
  return (url, timeoutMs) => {
    const parsed = new URL(url)
    const host = normalizeHost(parsed.hostname)
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80
    if (isIP(host) !== 0 && !allow.allowsAddress(host))
      return Promise.resolve(`${host} is not allowed by ${allow.variable} (${allow.source})`)
    return new Promise((resolve) => {
      const socket = connect({ host, port, lookup: allowListLookup(allow) })
      const done = (reason: string | undefined): void => {
        socket.destroy()
        resolve(reason)
      }
      const waitMs = Math.min(timeoutMs, 5000)
      socket.setTimeout(waitMs, () => done(`no answer from ${host}:${port} within ${waitMs}ms`))
      socket.once('connect', () => done(undefined))
      socket.once('error', (error: NodeJS.ErrnoException) =>
        done(error instanceof GauntletError ? error.message : `${error.code ?? 'error'} connecting to ${host}:${port}`),
      )
    })
  }
}
