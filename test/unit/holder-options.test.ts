import { holderCreateOptions, holderLabels, parseHoldPlan } from '@gauntlet/faults'
import { describe, expect, it } from 'vitest'

/** What a holder container may do is decided by its create options: exactly these, nothing more. */
describe('holder containers', () => {
  it("share the target's network namespace as root with NET_ADMIN only: no other capability, mount or pid namespace", () => {
    const options = holderCreateOptions({
      image: 'gauntlet:local',
      target: 'abc123',
      cmd: ['fault', 'hold', '{}'],
      labels: { [holderLabels.fault]: 'f1' },
    })
    expect(options).toEqual({
      Image: 'gauntlet:local',
      Cmd: ['fault', 'hold', '{}'],
      User: '0',
      Labels: { 'gauntlet.fault': 'f1' },
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: 'container:abc123',
        CapDrop: ['ALL'],
        CapAdd: ['NET_ADMIN'],
        AutoRemove: true,
        PidsLimit: 64,
        Memory: 256 * 1024 * 1024,
        SecurityOpt: ['no-new-privileges'],
      },
    })
  })

  it('the kernel probe gets a fresh namespace of its own (network mode none); a warm holder reads its plan on stdin', () => {
    expect(holderCreateOptions({ image: 'i', target: undefined, cmd: [], labels: {} }).HostConfig?.NetworkMode).toBe(
      'none',
    )
    expect(holderCreateOptions({ image: 'i', target: 't', cmd: [], labels: {}, stdin: true })).toMatchObject({
      AttachStdin: true,
      OpenStdin: true,
      StdinOnce: true,
    })
  })

  const spec = {
    id: 'x',
    type: 'loss',
    mechanism: 'iptables',
    target: { container: 'api' },
    percent: 10,
    durationMs: 1000,
  }
  const plan = (over: object): string =>
    JSON.stringify({ spec, untilEpochMs: Date.now() + 60_000, ip: '10.0.0.2', ...over })

  it('a hold plan must name the spec, its end and the target address', () => {
    expect(() => parseHoldPlan('nope')).toThrow(/not JSON/)
    expect(() => parseHoldPlan('{"spec":{"id":"x"}}')).toThrow(/untilEpochMs/)
    expect(parseHoldPlan(plan({}))).toMatchObject({ ip: '10.0.0.2' })
  })

  it('a hold plan whose spec breaks the fault schema, or that ends more than 24 h + 5 min ahead, is refused', () => {
    expect(() => parseHoldPlan(plan({ spec: { ...spec, mechanism: 'nft' } }))).toThrow(/spec is invalid: \/mechanism/)
    expect(() => parseHoldPlan(plan({ spec: { ...spec, id: 'X; rm' } }))).toThrow(/spec is invalid: \/id/)
    expect(() => parseHoldPlan(plan({ spec: { ...spec, extra: 1 } }))).toThrow(/spec is invalid/)
    expect(() => parseHoldPlan(plan({ untilEpochMs: Date.now() + 24 * 3_600_000 + 6 * 60_000 }))).toThrow(
      /more than 1445 min ahead/,
    )
    expect(parseHoldPlan(plan({ untilEpochMs: Date.now() + 24 * 3_600_000 }))).toMatchObject({ ip: '10.0.0.2' })
  })
})
