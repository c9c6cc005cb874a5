import { GauntletError } from '@gauntlet/contracts'
import { parseAllowList } from '@gauntlet/http'
import { networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { defaultLimits } from '../../apps/controller/src/config/controller-settings.js'
import { RunAdmission, type ListenAddress } from '../../apps/controller/src/run/run-admission.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

const scenario = (target: string, steps = '[{ rps: 10, duration: 5s }]', extra = '') =>
  parseScenario(`name: s\ntarget: { url: "${target}" }\nload:\n  steps: ${steps}\n${extra}`, 'test')

/** Names resolve as this table says, never through DNS. */
const names: Record<string, string[]> = {
  localhost: ['127.0.0.1', '::1'],
  'orders.internal': ['10.9.9.9'],
  'self.example': ['::ffff:127.0.0.1'],
}

function admission(
  listening: ListenAddress[],
  limits: Partial<typeof defaultLimits> = {},
  targetAllow = 'localhost,127.0.0.0/8,::1,0.0.0.0,::,orders.internal,self.example',
): RunAdmission {
  const a = new RunAdmission(
    {
      targetAllow: parseAllowList(targetAllow, 'GAUNTLET_TARGET_ALLOW'),
      hookAllow: parseAllowList(undefined, 'GAUNTLET_HOOK_ALLOW'),
      limits: { ...defaultLimits, ...limits },
    },
    (host) => Promise.resolve(names[host] ?? []),
  )
  a.setListenAddresses(listening)
  return a
}

async function refusal(promise: Promise<unknown>): Promise<GauntletError | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    if (error instanceof GauntletError) return error
    throw error
  }
}

const anExternalAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && !entry.internal && entry.family === 'IPv4')?.address

describe('run admission: the controller itself as a target', () => {
  it.each([
    ['its own address', 'http://127.0.0.1:8080/x', [{ address: '127.0.0.1', port: 8080 }]],
    ['a name that resolves to it', 'http://localhost:8080/x', [{ address: '127.0.0.1', port: 8080 }]],
    ['an IPv4-mapped address of it', 'http://self.example:8080/x', [{ address: '127.0.0.1', port: 8080 }]],
    ['0.0.0.0 (this host)', 'http://0.0.0.0:8080/x', [{ address: '127.0.0.1', port: 8080 }]],
    [
      'an IPv4-mapped address of it in hex, as URL writes it',
      'http://[::ffff:7f00:1]:8080/x',
      [{ address: '0.0.0.0', port: 8080 }],
    ],
    [
      'any loopback address when it listens on 0.0.0.0',
      'http://127.0.0.9:8080/x',
      [{ address: '0.0.0.0', port: 8080 }],
    ],
    ['::1 when it listens on ::', 'http://[::1]:8080/x', [{ address: '::', port: 8080 }]],
    ['the default port of the scheme', 'http://localhost/x', [{ address: '127.0.0.1', port: 80 }]],
  ])('refuses %s', async (_name, target, listening) => {
    const error = await refusal(admission(listening).check(scenario(target)))
    expect(error?.code).toBe('forbidden')
    expect(error?.message).toMatch(/this controller's own address/)
  })

  it.runIf(anExternalAddress)('refuses an address of a network interface when it listens on 0.0.0.0', async () => {
    const error = await refusal(
      admission([{ address: '0.0.0.0', port: 8080 }], {}, `${anExternalAddress},localhost`).check(
        scenario(`http://${anExternalAddress}:8080/`),
      ),
    )
    expect(error?.code).toBe('forbidden')
  })

  it.each([
    ['another port', 'http://127.0.0.1:8081/x', [{ address: '127.0.0.1', port: 8080 }]],
    [
      'another loopback address than the one it is bound to',
      'http://127.0.0.2:8080/x',
      [{ address: '127.0.0.1', port: 8080 }],
    ],
    ['a remote host on the same port', 'http://orders.internal:8080/x', [{ address: '0.0.0.0', port: 8080 }]],
    ['a name that does not resolve', 'http://localhost:9/x', []],
  ])('admits %s', async (_name, target, listening) => {
    expect(await refusal(admission(listening).check(scenario(target)))).toBeUndefined()
  })
})

describe('run admission: allow-list and caps', () => {
  it.each([
    [
      'a listed name that resolves to loopback, with no loopback address pattern',
      'localhost',
      'http://localhost:3000/x',
      'target_not_allowed',
    ],
    [
      'a listed name that resolves to an IPv4-mapped loopback address',
      'self.example',
      'http://self.example:3000/x',
      'target_not_allowed',
    ],
    [
      'a listed name that resolves to an ordinary address',
      'orders.internal',
      'http://orders.internal:3000/x',
      undefined,
    ],
    [
      'a listed name that resolves to loopback, allowed by an address pattern',
      'localhost,127.0.0.0/8,::1',
      'http://localhost:3000/x',
      undefined,
    ],
  ])('judges the target on what it resolves to: %s', async (_case, list, target, code) => {
    const error = await refusal(admission([], {}, list).check(scenario(target)))
    expect(error?.code).toBe(code)
  })

  it('refuses a target outside GAUNTLET_TARGET_ALLOW', async () => {
    const error = await refusal(admission([], {}, 'localhost').check(scenario('http://orders.internal/x')))
    expect(error?.code).toBe('target_not_allowed')
    expect(error?.message).toMatch(/GAUNTLET_TARGET_ALLOW/)
  })

  it('refuses a hook outside GAUNTLET_HOOK_ALLOW', async () => {
    const hooks = 'hooks:\n  postRun: [{ url: "http://orders.internal/hook" }]\n'
    const error = await refusal(admission([]).check(scenario('http://localhost:3000/x', undefined, hooks)))
    expect(error?.code).toBe('forbidden')
    expect(error?.message).toMatch(/egress allow-lists/)
  })

  it('refuses a busiest step above --max-run-rps, naming the flag', async () => {
    const error = await refusal(
      admission([], { maxRunRps: 100 }).check(
        scenario('http://localhost:3000/x', '[{ rps: 50, duration: 5s }, { rps: 101, duration: 5s }]'),
      ),
    )
    expect(error?.code).toBe('usage')
    expect(error?.message).toMatch(/101 rps; a run may plan at most 100 rps \(--max-run-rps\)/)
  })

  it('refuses a planned duration above --max-run-duration, naming the flag', async () => {
    const error = await refusal(
      admission([], { maxRunDurationS: 60 }).check(
        scenario('http://localhost:3000/x', '[{ rps: 5, duration: 40s }, { rps: 5, duration: 30s }]'),
      ),
    )
    expect(error?.code).toBe('usage')
    expect(error?.message).toMatch(/70s in all; a run may last at most 60s \(--max-run-duration\)/)
  })

  it('admits what is within every cap', async () => {
    expect(
      await refusal(
        admission([], { maxRunRps: 100, maxRunDurationS: 60 }).check(
          scenario('http://localhost:3000/x', '[{ rps: 100, duration: 60s }]'),
        ),
      ),
    ).toBeUndefined()
  })

  it('refuses a start beyond --max-runs', () => {
    const a = admission([], { maxRuns: 2 })
    expect(() => a.assertRoom(1)).not.toThrow()
    expect(() => a.assertRoom(2)).toThrow(/--max-runs 2/)
  })
})
