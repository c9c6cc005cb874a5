import { describe, expect, it } from 'vitest'
import {
  defaultKnobs,
  KnobError,
  parseKnobs,
  updateKnobs,
  type Env,
  type Knobs,
} from '../../apps/demo-target/src/index.js'

/** Runs `fn`, requires it to throw a KnobError, and returns the message. */
function knobError(fn: () => unknown): string {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected a KnobError to be thrown').toBeInstanceOf(KnobError)
  return (thrown as KnobError).message
}

describe('demo-target parseKnobs (CLI flags and DEMO_TARGET_* env)', () => {
  it('with no flags returns exactly the defaults', () => {
    expect(parseKnobs([])).toEqual(defaultKnobs)
    expect(defaultKnobs).toMatchObject({
      latencyMs: 0,
      errorRate: 0,
      capacityRps: null,
      overload: 'shed',
      stallForMs: 0,
      leakKbPerS: 0,
    })
  })

  it.each<[string[], Partial<Knobs>]>([
    [['--latency', '20'], { latencyMs: 20 }],
    [['--latency', '0'], { latencyMs: 0 }],
    [['--latency=12.5'], { latencyMs: 12.5 }],
    [['--latency', '20', '--jitter', '5'], { latencyMs: 20, jitterMs: 5 }],
    [['--error-rate', '0.25'], { errorRate: 0.25 }],
    [['--error-rate', '0'], { errorRate: 0 }],
    [['--error-rate=1'], { errorRate: 1 }],
    [['--capacity', '100'], { capacityRps: 100, overload: 'shed' }],
    [['--capacity', '0.5'], { capacityRps: 0.5 }],
    [['--capacity', '20', '--overload', 'queue'], { capacityRps: 20, overload: 'queue' }],
    [['--overload', 'shed'], { overload: 'shed' }],
    [['--stall-after', '100', '--stall-for', '500'], { stallAfterMs: 100, stallForMs: 500 }],
    [['--leak-kb-per-s', '64'], { leakKbPerS: 64 }],
    [['--port', '8080', '--host', '0.0.0.0'], { port: 8080, host: '0.0.0.0' }],
    [['--latency', '5', '--latency', '7'], { latencyMs: 7 }],
  ])('parses %j', (argv, expected) => {
    const knobs = parseKnobs(argv)
    expect(knobs).toEqual({ ...defaultKnobs, ...expected })
  })

  it.each<[string[], RegExp]>([
    [['--latency', '-5'], /--latency must be a non-negative number of milliseconds \(got "-5"\)/],
    [['--latency=-5'], /--latency must be a non-negative/],
    [['--jitter', '-1'], /--jitter must be a non-negative/],
    [['--stall-for', '-100'], /--stall-for must be a non-negative/],
    [['--stall-after', '-.5'], /--stall-after must be a non-negative/],
    [['--leak-kb-per-s', '-1'], /--leak-kb-per-s must be a non-negative number of KB/],
    [['--error-rate', '1.5'], /--error-rate must be a fraction between 0 and 1 \(got "1.5"\)/],
    [['--error-rate', '-0.1'], /--error-rate must be a fraction between 0 and 1/],
    [['--error-rate', '50%'], /--error-rate must be a fraction/],
    [['--latency', 'abc'], /--latency must be .*\(got "abc"\)/],
    [['--latency', ''], /--latency must be/],
    [['--latency', 'Infinity'], /--latency must be/],
    [['--capacity', 'lots'], /--capacity must be a positive number/],
    [['--capacity', '0'], /--capacity must be a positive number of requests per second \(got "0"\)/],
    [['--capacity', '-3'], /--capacity must be a positive number/],
    [['--overload', 'drop'], /--overload must be "shed" or "queue" \(got "drop"\)/],
    [['--overload', 'QUEUE'], /--overload must be "shed" or "queue"/],
    [['--port', '70000'], /--port must be an integer port/],
    [['--port', '1.5'], /--port must be an integer port/],
    [['--bogus', '1'], /^unknown flag --bogus$/],
    [['--latency'], /--latency/],
    [['stray'], /stray/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(knobError(() => parseKnobs(argv))).toMatch(message)
  })

  it('reports a parse error on one line', () => {
    expect(knobError(() => parseKnobs(['--latency']))).not.toContain('\n')
  })

  it.each<[Env, string[], Partial<Knobs>]>([
    [{ DEMO_TARGET_LATENCY: '30' }, [], { latencyMs: 30 }],
    [{ DEMO_TARGET_ERROR_RATE: '0.5', DEMO_TARGET_LEAK_KB_PER_S: '8' }, [], { errorRate: 0.5, leakKbPerS: 8 }],
    [{ DEMO_TARGET_CAPACITY: '40', DEMO_TARGET_OVERLOAD: 'queue' }, [], { capacityRps: 40, overload: 'queue' }],
    [{ DEMO_TARGET_LATENCY: '30' }, ['--latency', '5'], { latencyMs: 5 }],
    [{ DEMO_TARGET_LATENCY: '' }, [], { latencyMs: 0 }],
    // The flag wins; the bad variable is not read.
    [{ DEMO_TARGET_LATENCY: 'abc' }, ['--latency', '5'], { latencyMs: 5 }],
    [{ LATENCY: '30', DEMO_TARGET_LATENCYMS: '30' }, [], {}],
  ])('env %j with argv %j', (env, argv, expected) => {
    expect(parseKnobs(argv, env)).toEqual({ ...defaultKnobs, ...expected })
  })

  it.each<[Env, RegExp]>([
    [{ DEMO_TARGET_LATENCY: '-1' }, /DEMO_TARGET_LATENCY \(--latency\) must be a non-negative/],
    [{ DEMO_TARGET_ERROR_RATE: '2' }, /DEMO_TARGET_ERROR_RATE \(--error-rate\) must be a fraction/],
    [{ DEMO_TARGET_CAPACITY: '0' }, /DEMO_TARGET_CAPACITY \(--capacity\) must be a positive/],
  ])('rejects bad env %j naming the variable and the flag', (env, message) => {
    expect(knobError(() => parseKnobs([], env))).toMatch(message)
  })
})

describe('demo-target updateKnobs (runtime patches from PUT /__knobs)', () => {
  const current: Readonly<Knobs> = Object.freeze({ ...defaultKnobs, latencyMs: 10, capacityRps: 100 })

  it.each<[Record<string, unknown>, Partial<Knobs>, (keyof Knobs)[]]>([
    [{}, {}, []],
    [{ latencyMs: 20 }, { latencyMs: 20 }, ['latencyMs']],
    [{ latency: 20 }, { latencyMs: 20 }, ['latencyMs']],
    [{ latency: '15' }, { latencyMs: 15 }, ['latencyMs']],
    [{ latencyMs: 10 }, {}, ['latencyMs']],
    [{ errorRate: 1 }, { errorRate: 1 }, ['errorRate']],
    [{ 'error-rate': 0.5 }, { errorRate: 0.5 }, ['errorRate']],
    [{ capacity: null }, { capacityRps: null }, ['capacityRps']],
    [{ capacityRps: 5, overload: 'queue' }, { capacityRps: 5, overload: 'queue' }, ['capacityRps', 'overload']],
    [{ 'stall-after': 100, stallForMs: 50 }, { stallAfterMs: 100, stallForMs: 50 }, ['stallAfterMs', 'stallForMs']],
    [{ leakKbPerS: 32 }, { leakKbPerS: 32 }, ['leakKbPerS']],
  ])('applies %j', (patch, expected, touched) => {
    const update = updateKnobs(current, patch)
    expect(update.knobs).toEqual({ ...current, ...expected })
    expect(update.touched).toEqual(touched)
    expect(update.knobs).not.toBe(current)
  })

  it.each<[unknown, RegExp]>([
    [{ latencyMs: -1 }, /--latency must be a non-negative/],
    [{ jitter: -1 }, /--jitter must be a non-negative/],
    [{ latency: true }, /--latency must be .*\(got true\)/],
    [{ latency: null }, /--latency must be/],
    [{ latency: '' }, /--latency must be/],
    [{ errorRate: 1.01 }, /--error-rate must be a fraction between 0 and 1 \(got 1.01\)/],
    [{ errorRate: -0.5 }, /--error-rate must be a fraction/],
    [{ 'error-rate': 'high' }, /--error-rate must be a fraction.*"high"/],
    [{ overload: 'drop' }, /--overload must be "shed" or "queue" \(got "drop"\)/],
    [{ capacity: 0 }, /--capacity must be a positive number/],
    [{ capacityRps: -10 }, /--capacity must be a positive number/],
    [{ capacityRps: 'many' }, /--capacity must be a positive number/],
    [{ bogus: 1 }, /^unknown knob "bogus"$/],
    [{ port: 8080 }, /^--port cannot be changed at runtime$/],
    [{ host: '0.0.0.0' }, /^--host cannot be changed at runtime$/],
    [null, /must be a JSON object/],
    [[], /must be a JSON object/],
    [[{ latency: 1 }], /must be a JSON object/],
    [5, /must be a JSON object/],
    ['{"latency":1}', /must be a JSON object/],
  ])('rejects %j', (patch, message) => {
    expect(knobError(() => updateKnobs(current, patch))).toMatch(message)
  })

  it('is all-or-nothing: a patch with one bad entry changes nothing', () => {
    const mutable: Knobs = { ...defaultKnobs }
    expect(knobError(() => updateKnobs(mutable, { latencyMs: 50, errorRate: 2 }))).toMatch(/--error-rate/)
    expect(mutable).toEqual(defaultKnobs)
  })

  it('never mutates the current knobs, even on success', () => {
    const mutable: Knobs = { ...defaultKnobs }
    updateKnobs(mutable, { latencyMs: 50, errorRate: 1 })
    expect(mutable).toEqual(defaultKnobs)
  })

  it('accepts startup knobs only when allowed (createDemoTarget uses this)', () => {
    expect(
      updateKnobs(defaultKnobs, { port: 8080, host: 'localhost' }, { allowStartupKnobs: true }).knobs,
    ).toMatchObject({ port: 8080, host: 'localhost' })
    expect(knobError(() => updateKnobs(defaultKnobs, { port: -1 }, { allowStartupKnobs: true }))).toMatch(
      /--port must be an integer port/,
    )
    expect(knobError(() => updateKnobs(defaultKnobs, { host: ' ' }, { allowStartupKnobs: true }))).toMatch(
      /--host must be a non-empty/,
    )
  })

  it('skips undefined values (a Partial<Knobs> from code)', () => {
    expect(updateKnobs(current, { latencyMs: undefined })).toEqual({ knobs: current, touched: [] })
  })
})
