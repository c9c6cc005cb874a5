import type { TargetTls } from '@gauntlet/contracts'
import type { ConnectionTarget } from './autocannon-connection.js'

/** What a scenario says about its target, as far as sending requests goes. */
export interface HttpTarget {
  url: string
  method: string
  headers: Record<string, string>
  body?: string
  /** target.tls with PEM contents (https only). */
  tls?: TargetTls
}

/** The connection-level target (host, port, request line and headers) for a scenario's target URL. */
export function connectionTargetFor(target: HttpTarget): ConnectionTarget {
  const url = new URL(target.url)
  const https = url.protocol === 'https:'
  return {
    protocol: https ? 'https:' : 'http:',
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : https ? 443 : 80,
    path: `${url.pathname}${url.search}`,
    method: target.method,
    // url.host keeps IPv6 brackets and the port; a Host the scenario sets wins (checked case-insensitively).
    headers: Object.keys(target.headers).some((name) => name.toLowerCase() === 'host')
      ? target.headers
      : { host: url.host, ...target.headers },
    ...(target.body !== undefined ? { body: target.body } : {}),
    ...(https && target.tls !== undefined ? { tls: target.tls } : {}),
  }
}
