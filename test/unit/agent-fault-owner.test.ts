import { faultOwner } from '@gauntlet/agent'
import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'

/**
 * The owner of an agent's holders must survive a restart of the agent in the same container or on the
 * same host: a restarted agent recognises the holders it left (by gauntlet.owner) and reconciles them.
 */
describe('faultOwner: stable across restarts', () => {
  it('is the --name when given', () => {
    expect(faultOwner('edge-1')).toBe('edge-1')
  })

  it('is the host name otherwise, without the process id', () => {
    expect(faultOwner(undefined)).toBe(hostname())
    expect(faultOwner(undefined)).not.toContain(String(process.pid))
  })
})
