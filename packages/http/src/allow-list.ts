import { GauntletError } from '@gauntlet/contracts'
import { isIP } from 'node:net'

/**
 * Host allow-lists: which hosts a Gauntlet process may send traffic to (targets, hooks, target
 * metrics, agents). Each is a comma-separated list read from one environment variable:
 *
 *   pattern := hostname            exact, case-insensitive ("orders.internal")
 *            | *.domain            any subdomain of domain ("*.staging.example.com")
 *            | IPv4 address | IPv4 CIDR ("10.1.2.3", "10.1.0.0/16")
 *            | IPv6 address         ("::1")
 *
 * A literal address is allowed by address patterns. A name is allowed when a name pattern names it, or
 * when everything it resolves to is allowed by address patterns (checked at connect time, egress.ts):
 * `10.0.0.0/8` admits a service name that resolves inside it, so hosts with generated names (compose
 * replicas) can be admitted by their network.
 */
export const loopbackAllow = 'localhost,127.0.0.0/8,::1'

export interface AllowList {
  /** The environment variable it came from, for error messages. */
  readonly variable: string
  /** The patterns as given. */
  readonly source: string
  /** A name pattern matches this host name, or it is a literal address an address pattern matches. */
  allowsHost(host: string): boolean
  /** An address pattern matches this resolved IP address. */
  allowsAddress(address: string): boolean
  /** Some pattern is an address or CIDR, so a name no name pattern names may still resolve to allowed addresses. */
  readonly hasAddressPatterns: boolean
}

/** Parses the list; throws GauntletError('usage') naming the variable and the pattern when one is invalid. */
export function parseAllowList(text: string | undefined, variable: string, defaultText = loopbackAllow): AllowList {
  const source = text === undefined || text.trim() === '' ? defaultText : text
  const names: Array<(host: string) => boolean> = []
  const addresses: Array<(address: string) => boolean> = []
  for (const raw of source.split(',')) {
    const pattern = raw.trim().toLowerCase()
    if (pattern === '') throw new GauntletError('usage', `${variable} has an empty pattern`)
    const address = addressMatcher(pattern, variable)
    if (address) addresses.push(address)
    else names.push(nameMatcher(pattern, variable))
  }
  const allowsAddress = (address: string): boolean => {
    // normalizeHost unmaps IPv4-mapped IPv6 addresses, so they meet the IPv4 patterns.
    const normalized = normalizeHost(address)
    return isIP(normalized) !== 0 && addresses.some((match) => match(normalized))
  }
  return {
    variable,
    source,
    allowsAddress,
    hasAddressPatterns: addresses.length > 0,
    allowsHost: (host) => {
      const normalized = normalizeHost(host)
      return isIP(normalized) !== 0 ? allowsAddress(normalized) : names.some((match) => match(normalized))
    },
  }
}

/** Lower case, without IPv6 brackets or a trailing dot; an IPv4-mapped IPv6 address as its IPv4 address. */
export function normalizeHost(host: string): string {
  return unmapIPv4(
    host
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, ''),
  )
}

/**
 * "::ffff:127.0.0.1", "::ffff:7f00:1" (how URL writes it) and "0:0:0:0:0:ffff:7f00:1" are all
 * 127.0.0.1: one address, judged by the IPv4 patterns. Anything else is returned as it is.
 */
export function unmapIPv4(address: string): string {
  const mapped = /^(?:(?:0{1,4}:){5}|::)ffff:(.+)$/i.exec(address)
  if (!mapped) return address
  const tail = mapped[1]!
  if (isIP(tail) === 4) return tail
  const words = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(tail)
  if (!words) return address
  const high = parseInt(words[1]!, 16)
  const low = parseInt(words[2]!, 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

/**
 * Validation-time check of a URL some component will call: an http(s) URL whose host the list allows
 * by itself (named, or a literal allowed address). A name that only address patterns could admit is
 * refused here: validation does not resolve names. `what` names the URL in the message ("hook URL",
 * "targetMetrics.url"). The connect-time check on the resolved address is egress.ts's.
 */
export function assertUrlAllowed(url: string, allow: AllowList, what: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new GauntletError('usage', `${what} "${url}" is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new GauntletError('usage', `${what} "${url}" must be an http(s) URL`)
  // A URL is stored and shown (agents' addresses are listed): credentials have no place in it.
  if (parsed.username || parsed.password)
    throw new GauntletError('usage', `${what} must not carry credentials (user:password@)`)
  if (!allow.allowsHost(parsed.hostname)) {
    const code = allow.variable === 'GAUNTLET_TARGET_ALLOW' ? 'target_not_allowed' : 'forbidden'
    throw new GauntletError(
      code,
      `${what}: host ${normalizeHost(parsed.hostname)} is not allowed by ${allow.variable} (${allow.source})`,
    )
  }
}

function addressMatcher(pattern: string, variable: string): ((address: string) => boolean) | undefined {
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(pattern)
  if (cidr) {
    const bits = Number(cidr[2])
    if (isIP(cidr[1]!) !== 4 || bits > 32)
      throw new GauntletError('usage', `${variable}: "${pattern}" is not an IPv4 CIDR`)
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
    const network = (ipv4ToInt(cidr[1]!) & mask) >>> 0
    return (address) => isIP(address) === 4 && (ipv4ToInt(address) & mask) >>> 0 === network
  }
  if (isIP(pattern) !== 0) {
    const exact = unmapIPv4(pattern)
    return (address) => address === exact
  }
  return undefined
}

function nameMatcher(pattern: string, variable: string): (host: string) => boolean {
  if (pattern.startsWith('*.')) {
    const domain = pattern.slice(1) // ".staging.example.com"
    if (!/^(\.[a-z0-9-]+)+$/.test(domain))
      throw new GauntletError('usage', `${variable}: "${pattern}" is not a valid wildcard`)
    return (host) => host.endsWith(domain) && host.length > domain.length
  }
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(pattern))
    throw new GauntletError('usage', `${variable}: "${pattern}" is not a host name, address, CIDR or *.domain`)
  return (host) => host === pattern
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0)
}
