import { GauntletError } from '@gauntlet/contracts'
import { isIP } from 'node:net'

/**
 * Which targets an agent may load: GAUNTLET_TARGET_ALLOW, a comma-separated list of host patterns.
 * A load agent must never be an open traffic cannon, so the default is loopback only.
 *
 *   pattern := hostname            exact, case-insensitive ("orders.internal")
 *            | *.domain            any subdomain of domain ("*.staging.example.com")
 *            | IPv4 address | IPv4 CIDR ("10.1.2.3", "10.1.0.0/16")
 *            | IPv6 address         ("::1")
 */
export const defaultTargetAllow = 'localhost,127.0.0.0/8,::1'

type Matcher = (host: string) => boolean

export interface TargetAllowList {
  allows(host: string): boolean
  /** The patterns as given, for error messages. */
  readonly source: string
}

/** Parses the list; throws with the offending pattern named when one is not a valid pattern. */
export function parseTargetAllowList(text: string | undefined): TargetAllowList {
  const source = text === undefined || text.trim() === '' ? defaultTargetAllow : text
  const matchers = source.split(',').map((raw) => matcherFor(raw.trim()))
  return {
    source,
    allows: (host) => {
      const normalized = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
      return matchers.some((match) => match(normalized))
    },
  }
}

function matcherFor(pattern: string): Matcher {
  const p = pattern.toLowerCase()
  if (p === '') throw new GauntletError('usage', 'GAUNTLET_TARGET_ALLOW has an empty pattern')
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(p)
  if (cidr) {
    const bits = Number(cidr[2])
    if (isIP(cidr[1]!) !== 4 || bits > 32) throw new GauntletError('usage', `GAUNTLET_TARGET_ALLOW: "${pattern}" is not an IPv4 CIDR`)
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
    const network = (ipv4ToInt(cidr[1]!) & mask) >>> 0
    return (host) => isIP(host) === 4 && ((ipv4ToInt(host) & mask) >>> 0) === network
  }
  if (isIP(p) !== 0) return (host) => host === p
  if (p.startsWith('*.')) {
    const domain = p.slice(1) // ".staging.example.com"
    if (!/^(\.[a-z0-9-]+)+$/.test(domain)) throw new GauntletError('usage', `GAUNTLET_TARGET_ALLOW: "${pattern}" is not a valid wildcard`)
    return (host) => host.endsWith(domain) && host.length > domain.length
  }
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(p)) throw new GauntletError('usage', `GAUNTLET_TARGET_ALLOW: "${pattern}" is not a host name, address, CIDR or *.domain`)
  return (host) => host === p
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0)
}

/** Throws GauntletError('target_not_allowed') unless the URL's host is on the list. */
export function assertTargetAllowed(url: string, allow: TargetAllowList): void {
  assertHostAllowed(new URL(url).hostname, allow)
}

export function assertHostAllowed(host: string, allow: TargetAllowList): void {
  if (!allow.allows(host)) {
    throw new GauntletError('target_not_allowed', `target host ${host} is not allowed by GAUNTLET_TARGET_ALLOW (${allow.source}); agents only load hosts listed there`)
  }
}

/** The agent's list, from its environment. */
export function targetAllowListFromEnv(): TargetAllowList {
  return parseTargetAllowList(process.env.GAUNTLET_TARGET_ALLOW)
}
