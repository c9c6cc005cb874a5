import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { resolveSecret, sign } from '../../apps/controller/src/hooks/hook-sender.js'

describe('hook signing', () => {
  it('signs the exact body with HMAC-SHA256, hex, prefixed sha256=', () => {
    const body = '{"event":"onRollback","run":"r1"}'
    expect(sign(body, 'k')).toBe(`sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`)
    expect(sign(body, 'k')).not.toBe(sign(`${body} `, 'k'))
  })

  it.each<[string, NodeJS.ProcessEnv, string | undefined]>([
    ['${ROLLBACK_SECRET}', { ROLLBACK_SECRET: 'abc' }, 'abc'],
    ['${ROLLBACK_SECRET}', {}, undefined],
    ['${ROLLBACK_SECRET}', { ROLLBACK_SECRET: '' }, undefined],
    ['plain-secret', {}, 'plain-secret'],
    ['pre${X}post', { X: 'y' }, 'pre${X}post'],
  ])('secret %s with %j -> %s', (secret, env, expected) => {
    expect(resolveSecret(secret, env)).toBe(expected)
  })
})
