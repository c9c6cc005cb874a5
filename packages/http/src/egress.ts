import { GauntletError } from '@gauntlet/contracts'
import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress } from 'node:dns'
import type { IncomingHttpHeaders } from 'node:http'
import { isIP, type LookupFunction } from 'node:net'
import { normalizeHost, type AllowList } from './allow-list.js'

export interface EgressOptions {
  allow: AllowList
  method?: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  signal?: AbortSignal
  /** At most this much of the response body is read (default 64 KiB); the rest is discarded. */
  maxResponseBytes?: number
}

export interface EgressResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** The body was longer than maxResponseBytes. */
  truncated: boolean
}

/**
 * One HTTP(S) request from Gauntlet to a host an allow-list allows (a hook, a target's metrics, an
 * agent). The check is made on the addresses actually connected to, in the DNS lookup the socket
 * itself uses, so nothing can re-resolve between check and connect (see deniedAddress).
 * Redirects are never followed: a 3xx is returned as it is.
 * Throws GauntletError('forbidden') when the host is not allowed; a plain Error on network failure.
 */
export async function egressRequest(url: string, options: EgressOptions): Promise<EgressResponse> {
  const { allow } = options
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new GauntletError('usage', `"${url}" is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new GauntletError('usage', `"${url}" is not an http(s) URL`)
  const host = normalizeHost(parsed.hostname)
  if (isIP(host) !== 0 ? !allow.allowsAddress(host) : !allow.allowsHost(host) && !allow.hasAddressPatterns)
    throw refused(host, host, allow)
  const lookup = allowListLookup(allow)
  // node:http and node:https load on the first request (~15 ms of CPU): a run without hooks or target
  // metrics sends none, and pays nothing for them at start-up.
  const { request: send } = parsed.protocol === 'https:' ? await import('node:https') : await import('node:http')

  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])]
  const signal = AbortSignal.any(signals)
  const limit = options.maxResponseBytes ?? 64 * 1024
  return new Promise((resolve, reject) => {
    const request = send(
      parsed,
      {
        method: options.method ?? 'GET',
        headers: {
          ...options.headers,
          ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
        },
        lookup,
        signal,
      },
      (response) => {
        const chunks: Buffer[] = []
        let size = 0
        let truncated = false
        const finish = (): void =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            truncated,
          })
        response.on('data', (chunk: Buffer) => {
          if (size + chunk.length > limit) {
            chunks.push(chunk.subarray(0, limit - size))
            size = limit
            truncated = true
            response.destroy()
            finish()
            return
          }
          chunks.push(chunk)
          size += chunk.length
        })
        response.once('end', finish)
        response.once('error', (error) => (truncated ? undefined : reject(error)))
      },
    )
    request.once('error', (error) =>
      reject(
        signal.aborted && !(error instanceof GauntletError)
          ? new Error(`no answer within ${options.timeoutMs}ms`, { cause: error })
          : error,
      ),
    )
    request.end(options.body)
  })
}

/** Loopback, link-local and unspecified addresses (IPv4, IPv6 and IPv4-mapped IPv6). */
export function isSpecialAddress(address: string): boolean {
  const ip = normalizeHost(address)
  if (isIP(ip) === 4) return /^(127|0)\./.test(ip) || ip.startsWith('169.254.')
  return ip === '::1' || ip === '::' || /^fe[89ab][0-9a-f]:/.test(ip)
}

/**
 * A DNS lookup for sockets (http.request's or net.connect's `lookup` option) that refuses, with
 * GauntletError('forbidden'), a name resolving to addresses the list does not allow (deniedAddress):
 * the check is made on the very addresses the socket then connects to.
 */
export function allowListLookup(allow: AllowList): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4)
      const denied = deniedAddress(
        hostname,
        addresses.map((a) => a.address),
        allow,
      )
      if (denied !== undefined) return callback(refused(normalizeHost(hostname), denied, allow), '', 4)
      // Node asks for every address (all: true) when it races IPv4/IPv6, else for one.
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
      callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}

/**
 * Resolves a host and applies the allow-list to what it resolves to; throws GauntletError('forbidden')
 * when refused, 'target_unreachable' when the name does not resolve. For callers that connect through
 * another client (agents registering, load targets).
 */
export async function assertResolvesAllowed(host: string, allow: AllowList): Promise<void> {
  const name = normalizeHost(host)
  if (isIP(name) !== 0 ? !allow.allowsAddress(name) : !allow.allowsHost(name) && !allow.hasAddressPatterns)
    throw refused(name, name, allow)
  if (isIP(name) !== 0) return
  let addresses: LookupAddress[]
  try {
    addresses = await dnsPromises.lookup(name, { all: true })
  } catch (error) {
    throw new GauntletError(
      'target_unreachable',
      `${name} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    )
  }
  const denied = deniedAddress(
    name,
    addresses.map((a) => a.address),
    allow,
  )
  if (denied !== undefined) throw refused(name, denied, allow)
}

/**
 * The first resolved address the list does not allow, if any. A named host may resolve anywhere but
 * to loopback, link-local (cloud metadata) or unspecified addresses, which need an address pattern:
 * a DNS answer cannot turn an allowed name into this host or a metadata endpoint. A host no name
 * pattern names must resolve only to addresses that address patterns allow.
 */
export function deniedAddress(hostname: string, addresses: readonly string[], allow: AllowList): string | undefined {
  if (addresses.length === 0) return hostname
  const named = allow.allowsHost(normalizeHost(hostname))
  return addresses.find((address) => !allow.allowsAddress(address) && (!named || isSpecialAddress(address)))
}

function refused(host: string, address: string, allow: AllowList): GauntletError {
  return new GauntletError(
    'forbidden',
    `${host === address ? host : `${host} (${address})`} is not allowed by ${allow.variable} (${allow.source})`,
  )
}
