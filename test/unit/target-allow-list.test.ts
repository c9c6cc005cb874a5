import { parseTargetAllowList } from '@gauntlet/agent'
import { describe, expect, it } from 'vitest'

describe('GAUNTLET_TARGET_ALLOW', () => {
  it.each([
    [undefined, '127.0.0.1', true],
    [undefined, '127.9.8.7', true],
    [undefined, 'localhost', true],
    [undefined, 'LOCALHOST.', true],
    [undefined, '[::1]', true],
    [undefined, '10.0.0.1', false],
    [undefined, '192.168.1.10', false],
    [undefined, 'example.com', false],
    [undefined, '128.0.0.1', false],
    ['', '8.8.8.8', false],
    ['10.1.0.0/16', '10.1.255.3', true],
    ['10.1.0.0/16', '10.2.0.1', false],
    ['10.1.0.0/16', 'localhost', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['*.staging.example.com', 'orders.staging.example.com', true],
    ['*.staging.example.com', 'staging.example.com', false],
    ['*.staging.example.com', 'evilstaging.example.com', false],
    ['orders.internal, 127.0.0.1', 'Orders.Internal', true],
    ['orders.internal, 127.0.0.1', '127.0.0.2', false],
    ['fd00::1', '[fd00::1]', true],
  ])('%j allows %s: %s', (list, host, allowed) => {
    expect(parseTargetAllowList(list).allowsHost(host)).toBe(allowed)
  })

  it.each([
    ['10.0.0.0/33', /not an IPv4 CIDR/],
    ['300.1.1.1/8', /not an IPv4 CIDR/],
    ['*.', /not a valid wildcard/],
    ['bad host', /not a host name/],
    ['a,,b', /empty pattern/],
  ])('rejects the pattern %j', (list, message) => {
    expect(() => parseTargetAllowList(list)).toThrow(message)
  })
})
