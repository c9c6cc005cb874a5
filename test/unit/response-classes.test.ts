import { AssignmentSchema, isExpectedStatus, parseStatusList } from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { WindowAccumulator } from '../../apps/agent/src/load/window-accumulator.js'

/** L4: a response outside 2xx is an error of its class, unless the scenario lists its status as expected. */

describe('isExpectedStatus', () => {
  it.each<[number, Array<number | string> | undefined, boolean]>([
    [200, undefined, true],
    [204, undefined, true],
    [299, undefined, true],
    [101, undefined, false],
    [301, undefined, false],
    [302, undefined, false],
    [304, undefined, false],
    [404, undefined, false],
    [503, undefined, false],
    [302, [302], true],
    [200, [302], false],
    [404, [200, 404], true],
    [201, [200, 404], false],
    [200, ['2xx'], true],
    [299, ['2xx'], true],
    [300, ['2xx'], false],
    [199, ['2xx'], false],
    [302, ['300-302'], true],
    [300, ['300-302'], true],
    [303, ['300-302'], false],
    [404, [200, '4xx'], true],
    [503, [200, '4xx'], false],
  ])('%i with expect %j is a success: %s', (status, expected, success) => {
    expect(isExpectedStatus(status, expected && parseStatusList(expected))).toBe(success)
  })
})

describe('WindowAccumulator', () => {
  it('counts a redirect as an error under its status, and an expected one as a success', () => {
    const plain = new WindowAccumulator(0, 0, 4)
    for (const status of [200, 302, 302, 500]) plain.recordResponse(status, 1000)
    expect([plain.ok, plain.errors.status, plain.latency.totalCount]).toEqual([1, { '302': 2, '500': 1 }, 1])

    const expecting = new WindowAccumulator(0, 0, 4)
    for (const status of [200, 302, 302, 500]) expecting.recordResponse(status, 1000, [[302, 302]])
    expect([expecting.ok, expecting.errors.status, expecting.latency.totalCount]).toEqual([
      2,
      { '200': 1, '500': 1 },
      2,
    ])
  })
})

describe('the assignment carries the expected statuses to remote agents', () => {
  // The target's own schema: the whole assignment's url has format "uri", which only the HTTP layer (ajv) knows.
  const expectStatus = AssignmentSchema.properties.target.properties.expectStatus
  it.each<[Array<number | string>, boolean]>([
    [[302], true],
    [[200, 404], true],
    [['2xx', '200-299', 302], true],
    [[], false],
    [[600], false],
    [[99], false],
    [['abc'], false],
    [['200-2999'], false],
  ])('expectStatus %j is valid: %s', (statuses, valid) => {
    expect(Value.Check(expectStatus, statuses)).toBe(valid)
  })
})
