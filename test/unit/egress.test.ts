import {
  assertResolvesAllowed,
  assertUrlAllowed,
  egressRequest,
  isSpecialAddress,
  parseAllowList,
} from '@gauntlet/http'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** egressRequest: the one way Gauntlet calls hooks, target metrics and agents. */
describe('egressRequest', () => {
  let server: Server
  let port = 0
  const seen: string[] = []
  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.url ?? '')
      if (request.url === '/redirect')
        return response.writeHead(302, { location: 'http://127.0.0.2:1/elsewhere' }).end()
      if (request.url === '/big') return response.end('x'.repeat(100_000))
      response.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const loopback = parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW')

  it('calls an allowed address and returns its answer', async () => {
    const response = await egressRequest(`http://127.0.0.1:${port}/a`, { allow: loopback, timeoutMs: 2000 })
    expect(response).toMatchObject({ status: 200, body: 'ok', truncated: false })
  })

  it('returns a redirect as it is, never following it', async () => {
    const response = await egressRequest(`http://127.0.0.1:${port}/redirect`, { allow: loopback, timeoutMs: 2000 })
    expect(response.status).toBe(302)
    expect(seen).not.toContain('/elsewhere')
  })

  it('reads at most maxResponseBytes of the body', async () => {
    const response = await egressRequest(`http://127.0.0.1:${port}/big`, {
      allow: loopback,
      timeoutMs: 2000,
      maxResponseBytes: 1000,
    })
    expect(response.body.length).toBe(1000)
    expect(response.truncated).toBe(true)
  })

  it.each([
    ['an address outside the list', '127.0.0.1', `http://127.0.0.2:${1}/`],
    ['a name outside a list of names', 'hooks.example', 'http://example.invalid/'],
    [
      'an allowed name that resolves to loopback when no address pattern allows loopback',
      'localhost',
      'http://localhost:1/',
    ],
    ['a name no pattern names that resolves outside the address patterns', '10.0.0.0/8', 'http://localhost:1/'],
  ])('refuses %s before connecting', async (_case, list, url) => {
    const allow = parseAllowList(list, 'GAUNTLET_HOOK_ALLOW')
    await expect(egressRequest(url, { allow, timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('GAUNTLET_HOOK_ALLOW') as string,
    })
  })

  it('lets an allowed name reach loopback when an address pattern allows it', async () => {
    const response = await egressRequest(`http://localhost:${port}/b`, { allow: loopback, timeoutMs: 2000 })
    expect(response.status).toBe(200)
  })

  it('lets a name no pattern names through when it resolves inside an address pattern', async () => {
    const response = await egressRequest(`http://localhost:${port}/c`, {
      allow: parseAllowList('127.0.0.0/8,::1', 'GAUNTLET_AGENT_ALLOW'),
      timeoutMs: 2000,
    })
    expect(response.status).toBe(200)
  })

  it.each([
    ['localhost', 'localhost,127.0.0.0/8,::1', true],
    ['localhost', '127.0.0.0/8,::1', true],
    ['localhost', 'localhost', false],
    ['localhost', '10.0.0.0/8', false],
    ['127.0.0.2', '127.0.0.1', false],
    ['127.0.0.1', '127.0.0.1', true],
  ])('assertResolvesAllowed(%s) with %s: allowed %s', async (host, list, allowed) => {
    const check = assertResolvesAllowed(host, parseAllowList(list, 'GAUNTLET_AGENT_ALLOW'))
    if (allowed) await expect(check).resolves.toBeUndefined()
    else await expect(check).rejects.toMatchObject({ code: 'forbidden' })
  })

  it.each([
    ['[::ffff:7f00:2]', '127.0.0.1', false],
    ['[::ffff:127.0.0.2]', '127.0.0.1', false],
    ['[::ffff:7f00:1]', '127.0.0.1', true],
    ['127.0.0.1', '::ffff:7f00:1', true],
    ['[0:0:0:0:0:ffff:7f00:2]', '127.0.0.0/8', true],
  ])('judges an IPv4-mapped IPv6 host %s by the IPv4 patterns (list %s): allowed %s', (host, list, allowed) => {
    expect(parseAllowList(list, 'GAUNTLET_TARGET_ALLOW').allowsHost(host)).toBe(allowed)
  })

  it('refuses a URL with credentials in it (it would be stored and listed)', () => {
    expect(() => assertUrlAllowed('http://u:p@127.0.0.1:7070/', loopback, 'agent URL')).toThrow(
      /must not carry credentials/,
    )
  })

  it('says a name that does not resolve is unreachable, not allowed', async () => {
    await expect(
      assertResolvesAllowed('nothing.invalid', parseAllowList('10.0.0.0/8', 'GAUNTLET_AGENT_ALLOW')),
    ).rejects.toMatchObject({ code: 'target_unreachable' })
  })

  it.each([
    ['127.0.0.1', true],
    ['0.0.0.0', true],
    ['169.254.169.254', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['0:0:0:0:0:ffff:a9fe:a9fe', true],
    ['fe80::1', true],
    ['10.0.0.1', false],
    ['192.168.1.1', false],
    ['2001:db8::1', false],
  ])('%s is special (loopback, link-local, unspecified): %s', (address, special) => {
    expect(isSpecialAddress(address)).toBe(special)
  })
})
