import { describe, expect, it } from 'vitest'
import { planSteps } from '../../apps/controller/src/scenario/ramp-plan.js'

const plan = (load: object) => {
  const problems: string[] = []
  const steps = planSteps(load, (path, message) => problems.push(`${path}: ${message}`))
  return { steps, problems }
}

describe('ramp planning', () => {
  it.each([
    ['ascending ramp', { ramp: { from: 100, to: 400, step: 100, every: '30s' } }, [100, 200, 300, 400], 30],
    [
      'to off the grid is added as last step',
      { ramp: { from: 100, to: 350, step: 100, every: '10s' } },
      [100, 200, 300, 350],
      10,
    ],
    ['descending ramp', { ramp: { from: 300, to: 100, step: 100, every: '1m' } }, [300, 200, 100], 60],
    ['single step ramp', { ramp: { from: 50, to: 50, step: 10, every: '5s' } }, [50], 5],
    ['fractional rates', { ramp: { from: 0.5, to: 1.5, step: 0.5, every: '10s' } }, [0.5, 1, 1.5], 10],
  ])('%s', (_name, load, rates, durationS) => {
    const { steps, problems } = plan(load)
    expect(problems).toEqual([])
    expect(steps?.map((s) => s.rps)).toEqual(rates)
    expect(steps?.every((s) => s.durationS === durationS)).toBe(true)
  })

  it('explicit steps keep their own durations', () => {
    const { steps } = plan({
      steps: [
        { rps: 100, duration: '30s' },
        { rps: 250, duration: '1m' },
      ],
    })
    expect(steps).toEqual([
      { rps: 100, durationS: 30 },
      { rps: 250, durationS: 60 },
    ])
  })

  it.each([
    [
      'both ramp and steps',
      { ramp: { from: 1, to: 2, step: 1, every: '1s' }, steps: [{ rps: 1, duration: '1s' }] },
      '/load: give either ramp or steps',
    ],
    ['neither', {}, '/load: missing ramp or steps'],
    [
      'sub-second step',
      { ramp: { from: 1, to: 2, step: 1, every: '500ms' } },
      '/load/ramp/every: must be a whole number of seconds',
    ],
    ['too many steps', { ramp: { from: 1, to: 100000, step: 1, every: '1s' } }, 'at most 1000'],
    [
      'too many steps once `to` is added',
      { ramp: { from: 1, to: 1000000, step: 1000, every: '1s' } },
      'this ramp makes 1001 steps',
    ],
    ['longer than a day', { steps: [{ rps: 1, duration: '25h' }] }, 'at most 86400s'],
    ['sends nothing', { steps: [{ rps: 0.1, duration: '5s' }] }, 'would send no request'],
    [
      'fractional step duration',
      { steps: [{ rps: 5, duration: '1.5s' }] },
      '/load/steps/0/duration: must be a whole number',
    ],
  ])('rejects %s', (_name, load, message) => {
    const { steps, problems } = plan(load)
    expect(steps).toBeUndefined()
    expect(problems.join('\n')).toContain(message)
  })
})
