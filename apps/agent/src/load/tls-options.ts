import type { TargetTls } from '@gauntlet/contracts'
import { isIP } from 'node:net'
import { createSecureContext, rootCertificates, type ConnectionOptions } from 'node:tls'

/**
 * How a connection to an https target opens its TLS socket. Verified unless the scenario says
 * `insecure: true`: against the system store plus the scenario's `ca` (Node's `ca` option replaces the
 * defaults, so the system roots are given with it), presenting `cert`/`key` for mutual TLS. The secure
 * context is built once per target and shared by its connections: parsing ~140 roots on every
 * (re)connect would cost the target's handshake time on our side.
 */
const built = new WeakMap<TlsTarget, ConnectionOptions>()

/** What of a connection target TLS needs (a ConnectionTarget is one). */
export interface TlsTarget {
  hostname: string
  port: number
  tls?: TargetTls
}

export function tlsConnectOptions(target: TlsTarget): ConnectionOptions {
  let options = built.get(target)
  if (!options) {
    options = buildOptions(target.hostname, target.port, target.tls)
    built.set(target, options)
  }
  return options
}

function buildOptions(hostname: string, port: number, tls: TargetTls | undefined): ConnectionOptions {
  const secureContext = createSecureContext({
    ...(tls?.ca !== undefined ? { ca: [...rootCertificates, tls.ca] } : {}),
    ...(tls?.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
  })
  // SNI carries a name, never an address; the certificate is checked against serverName when given.
  const servername = tls?.serverName ?? (isIP(hostname) === 0 ? hostname : undefined)
  return {
    host: hostname,
    port,
    secureContext,
    rejectUnauthorized: tls?.insecure !== true,
    ...(servername !== undefined ? { servername } : {}),
  }
}
