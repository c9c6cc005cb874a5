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
      HostConfig: { NetworkMode: 'container:abc123', CapDrop: ['ALL'], CapAdd: ['NET_ADMIN'], AutoRemove: true },
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

  it('a hold plan must name the spec, its end and the target address', () => {
    expect(() => parseHoldPlan('nope')).toThrow(/not JSON/)
    expect(() => parseHoldPlan('{"spec":{"id":"x"}}')).toThrow(/untilEpochMs/)
    expect(parseHoldPlan('{"spec":{"id":"x"},"untilEpochMs":1,"ip":"10.0.0.2"}')).toMatchObject({ ip: '10.0.0.2' })
  })
})
