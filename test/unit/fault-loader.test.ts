import {
  FaultDocumentSchema,
  FaultSpecSchema,
  GauntletError,
  type FaultDocument,
  type FaultSpec,
} from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { adhocFault } from '../../packages/faults/src/adhoc-fault.js'
import {
  buildFault,
  buildFaults,
  parseBytes,
  parseRate,
  type ScheduledFault,
} from '../../packages/faults/src/fault-loader.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

const web = { container: 'web' }

/** One document through buildFault: what it built, and its problems as "path: message". */
function build(
  doc: Record<string, unknown>,
  stepCount?: number,
): { built: ScheduledFault | undefined; problems: string[] } {
  // buildFault takes schema-valid documents: make sure each case is one, so it tests the loader's own rules.
  expect(Value.Errors(FaultDocumentSchema, doc).First()).toBeUndefined()
  const problems: string[] = []
  const built = buildFault(
    doc as FaultDocument,
    '/f',
    (path, message) => problems.push(`${path}: ${message}`),
    'id-1',
    stepCount,
  )
  return { built, problems }
}

describe('buildFault: valid documents', () => {
  it.each<
    [
      string,
      Record<string, unknown>,
      Omit<FaultSpec, 'id' | 'target'> & { target?: FaultSpec['target'] },
      ScheduledFault['start']?,
    ]
  >([
    [
      'delay, defaults (mode auto, start at 0)',
      { type: 'delay', target: web, latency: '100ms', duration: '30s' },
      { type: 'delay', mechanism: 'auto', latencyMs: 100, durationMs: 30_000 },
    ],
    [
      'delay netem with everything',
      {
        type: 'delay',
        target: web,
        mode: 'netem',
        latency: '0.1s',
        jitter: '10ms',
        correlation: 25,
        distribution: 'normal',
        port: 8080,
        peer: '10.0.0.5',
        at: '1.5m',
        duration: '2m',
      },
      {
        type: 'delay',
        mechanism: 'netem',
        latencyMs: 100,
        jitterMs: 10,
        correlation: 25,
        distribution: 'normal',
        port: 8080,
        peer: '10.0.0.5',
        durationMs: 120_000,
      },
      { atS: 90 },
    ],
    [
      'delay through the proxy',
      { type: 'delay', target: web, mode: 'proxy', latency: '250ms', port: 8080, duration: '1h' },
      { type: 'delay', mechanism: 'proxy', latencyMs: 250, port: 8080, durationMs: 3_600_000 },
    ],
    [
      'loss, auto',
      { type: 'loss', target: web, percent: 5, duration: '10s' },
      { type: 'loss', mechanism: 'auto', percent: 5, durationMs: 10_000 },
    ],
    [
      'loss netem with correlation',
      { type: 'loss', target: web, mode: 'netem', percent: 0.5, correlation: 10, duration: '10s' },
      { type: 'loss', mechanism: 'netem', percent: 0.5, correlation: 10, durationMs: 10_000 },
    ],
    [
      'bandwidth 1mbit = 1e6 bit/s',
      { type: 'bandwidth', target: web, rate: '1mbit', duration: '1m' },
      { type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, durationMs: 60_000 },
    ],
    [
      'bandwidth 2mbps = 16e6 bit/s, burst 32kbit = 4096 bytes, limit 64kb = 65536 bytes',
      { type: 'bandwidth', target: web, rate: '2mbps', burst: '32kbit', limit: '64kb', port: 443, duration: '1m' },
      {
        type: 'bandwidth',
        mechanism: 'tbf',
        rateBitsPerS: 16e6,
        burstBytes: 4096,
        limitBytes: 65536,
        port: 443,
        durationMs: 60_000,
      },
    ],
    [
      'partition, both directions by default',
      { type: 'partition', target: web, duration: '5s' },
      { type: 'partition', mechanism: 'iptables', direction: 'both', durationMs: 5000 },
    ],
    [
      'partition ingress from peers',
      { type: 'partition', target: web, direction: 'ingress', peers: ['10.0.0.5', '10.2.0.0/16'], duration: '5s' },
      {
        type: 'partition',
        mechanism: 'iptables',
        direction: 'ingress',
        peers: ['10.0.0.5', '10.2.0.0/16'],
        durationMs: 5000,
      },
    ],
    [
      'reset of a port, from a step',
      { type: 'reset', target: web, port: 8080, atStep: 2, duration: '24h' },
      { type: 'reset', mechanism: 'iptables', port: 8080, durationMs: 86_400_000 },
      { atStep: 2 },
    ],
    [
      'a label target, one of them',
      { type: 'reset', target: { label: 'app=orders', mode: 'one' }, port: 1, duration: '1s' },
      { type: 'reset', mechanism: 'iptables', port: 1, durationMs: 1000, target: { label: 'app=orders', mode: 'one' } },
    ],
    [
      'a service target, percent of them',
      { type: 'loss', target: { service: 'orders', mode: 'percent', percent: 50 }, percent: 100, duration: '1s' },
      {
        type: 'loss',
        mechanism: 'auto',
        percent: 100,
        durationMs: 1000,
        target: { service: 'orders', mode: 'percent', percent: 50 },
      },
    ],
  ])('%s', (_name, doc, expected, start = { atS: 0 }) => {
    const { built, problems } = build(doc, 3)
    expect(problems).toEqual([])
    expect(built).toEqual({ spec: { id: 'id-1', target: web, ...expected }, start })
    // What the agent receives is a valid FaultSpec.
    expect([...Value.Errors(FaultSpecSchema, built!.spec)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
  })
})

describe('units', () => {
  it.each([
    ['1mbit', 1e6],
    ['2mbps', 16e6],
    ['500kbit', 5e5],
    ['1.5mbit', 1.5e6],
    ['8000bit', 8000],
    ['100bps', 800],
    ['1gbit', 1e9],
    ['1gbps', 8e9],
    ['3kbps', 24_000],
  ])('rate %s = %d bit/s', (text, bits) => {
    expect(parseRate(text)).toBe(bits)
  })

  it.each([
    ['32kbit', 4096],
    ['64kb', 65536],
    ['1mb', 1_048_576],
    ['1mbit', 131_072],
    ['1500', 1500],
    ['1500b', 1500],
  ])('size %s = %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes)
  })
})

describe('buildFault: problems', () => {
  it.each<[string, Record<string, unknown>, string[], number?]>([
    // Parameters of another type: errors naming the parameter and the type, as an unknown key would be.
    [
      'rate on a delay',
      { type: 'delay', target: web, latency: '1ms', rate: '1mbit', duration: '1s' },
      ['/f/rate: rate does not apply to a delay fault; it takes: mode, latency'],
    ],
    [
      'latency on a loss',
      { type: 'loss', target: web, percent: 1, latency: '1ms', duration: '1s' },
      ['/f/latency: latency does not apply to a loss fault'],
    ],
    [
      'percent on a bandwidth',
      { type: 'bandwidth', target: web, rate: '1mbit', percent: 5, duration: '1s' },
      ['/f/percent: percent does not apply to a bandwidth fault'],
    ],
    [
      'mode on a partition',
      { type: 'partition', target: web, mode: 'netem', duration: '1s' },
      ['/f/mode: mode does not apply to a partition fault'],
    ],
    [
      'direction on a reset',
      { type: 'reset', target: web, port: 80, direction: 'ingress', duration: '1s' },
      ['/f/direction: direction does not apply to a reset fault; it takes: port, peer'],
    ],
    [
      'peers on a delay',
      { type: 'delay', target: web, latency: '1ms', peers: ['10.0.0.1'], duration: '1s' },
      ['/f/peers: peers does not apply to a delay fault'],
    ],
    [
      'jitter on a bandwidth',
      { type: 'bandwidth', target: web, rate: '1mbit', jitter: '1ms', duration: '1s' },
      ['/f/jitter: jitter does not apply to a bandwidth fault'],
    ],
    [
      'burst on a partition',
      { type: 'partition', target: web, burst: '10kb', duration: '1s' },
      ['/f/burst: burst does not apply to a partition fault'],
    ],
    // Required parameters.
    ['delay without latency', { type: 'delay', target: web, duration: '1s' }, ['/f: a delay fault needs latency']],
    ['loss without percent', { type: 'loss', target: web, duration: '1s' }, ['/f: a loss fault needs percent']],
    [
      'bandwidth without rate',
      { type: 'bandwidth', target: web, duration: '1s' },
      ['/f: a bandwidth fault needs rate'],
    ],
    ['reset without port', { type: 'reset', target: web, duration: '1s' }, ['/f: a reset fault needs port']],
    // Targets.
    [
      'no selector',
      { type: 'partition', target: {}, duration: '1s' },
      ['/f/target: name exactly one of container, label or service'],
    ],
    [
      'two selectors',
      { type: 'partition', target: { container: 'api', label: 'x=y' }, duration: '1s' },
      ['/f/target: name exactly one of container, label or service (got container and label)'],
    ],
    [
      'three selectors',
      { type: 'partition', target: { container: 'api', label: 'x=y', service: 's' }, duration: '1s' },
      ['(got container and label and service)'],
    ],
    [
      'mode percent without percent',
      { type: 'partition', target: { service: 's', mode: 'percent' }, duration: '1s' },
      ['/f/target: percent goes with mode: percent'],
    ],
    [
      'percent without mode percent',
      { type: 'partition', target: { service: 's', percent: 50 }, duration: '1s' },
      ['/f/target: percent goes with mode: percent'],
    ],
    [
      'percent with mode all',
      { type: 'partition', target: { service: 's', mode: 'all', percent: 50 }, duration: '1s' },
      ['/f/target: percent goes with mode: percent'],
    ],
    // Mechanisms.
    [
      'loss through the proxy',
      { type: 'loss', target: web, mode: 'proxy', percent: 5, duration: '1s' },
      ['/f/mode: loss has no proxy mode'],
    ],
    [
      'proxy delay without a port',
      { type: 'delay', target: web, mode: 'proxy', latency: '1ms', duration: '1s' },
      ['/f/port: mode: proxy delays inbound TCP to the service port: set port'],
    ],
    // Delay shape.
    [
      'jitter larger than latency',
      { type: 'delay', target: web, latency: '10ms', jitter: '11ms', duration: '1s' },
      ['/f/jitter: jitter larger than the latency'],
    ],
    [
      'distribution without jitter',
      { type: 'delay', target: web, latency: '10ms', distribution: 'normal', duration: '1s' },
      ['/f/distribution: a distribution needs jitter'],
    ],
    [
      'distribution with zero jitter',
      { type: 'delay', target: web, latency: '10ms', jitter: '0ms', distribution: 'normal', duration: '1s' },
      ['/f/distribution: a distribution needs jitter'],
    ],
    ['latency above 60s', { type: 'delay', target: web, latency: '61s', duration: '2m' }, ['/f/latency: at most 60s']],
    // When.
    [
      'at and atStep together',
      { type: 'partition', target: web, at: '10s', atStep: 1, duration: '1s' },
      ['/f/atStep: give at or atStep, not both'],
    ],
    [
      'atStep beyond the scenario',
      { type: 'partition', target: web, atStep: 4, duration: '1s' },
      ['/f/atStep: the scenario has 3 step(s)'],
      3,
    ],
    [
      'duration under 1s',
      { type: 'partition', target: web, duration: '999ms' },
      ['/f/duration: a fault lasts from 1s to 24h'],
    ],
    [
      'duration over 24h',
      { type: 'partition', target: web, duration: '1441m' },
      ['/f/duration: a fault lasts from 1s to 24h'],
    ],
    // Rates.
    [
      'rate below 8kbit',
      { type: 'bandwidth', target: web, rate: '7999bit', duration: '1s' },
      ['/f/rate: between 8kbit and 100gbit'],
    ],
    [
      'rate above 100gbit',
      { type: 'bandwidth', target: web, rate: '13gbps', duration: '1s' },
      ['/f/rate: between 8kbit and 100gbit'],
    ],
    // Addresses.
    [
      'a peer that is a name',
      { type: 'reset', target: web, port: 80, peer: 'db.internal', duration: '1s' },
      ['/f/peer: "db.internal" is not an IPv4 address or CIDR'],
    ],
    [
      'peers with a name among them',
      { type: 'partition', target: web, peers: ['10.0.0.1', 'db'], duration: '1s' },
      ['/f/peers/1: "db" is not an IPv4 address or CIDR'],
    ],
    [
      'an IPv6 peer',
      { type: 'partition', target: web, peers: ['fd00::1'], duration: '1s' },
      ['/f/peers/0: "fd00::1" is not an IPv4 address or CIDR'],
    ],
    [
      'an octet above 255',
      { type: 'partition', target: web, peers: ['256.1.1.1'], duration: '1s' },
      ['/f/peers/0: "256.1.1.1" is not an IPv4 address or CIDR'],
    ],
    [
      'a prefix length above 32',
      { type: 'reset', target: web, port: 80, peer: '10.0.0.0/33', duration: '1s' },
      ['/f/peer: "10.0.0.0/33" is not an IPv4 address or CIDR'],
    ],
  ])('%s', (_name, doc, expected, stepCount) => {
    const { built, problems } = build(doc, stepCount)
    expect(built).toBeUndefined()
    for (const fragment of expected) expect(problems.join('\n')).toContain(fragment)
  })

  it.each<[string, Record<string, unknown>, string]>([
    // tc refuses a zero bucket or queue at apply time, mid-run; and FaultSpecSchema says minimum 1.
    ['burst of zero bytes', { type: 'bandwidth', target: web, rate: '1mbit', burst: '0', duration: '1s' }, '/f/burst'],
    [
      'limit of zero bytes',
      { type: 'bandwidth', target: web, rate: '1mbit', limit: '0kb', duration: '1s' },
      '/f/limit',
    ],
  ])('%s is a load-time problem, not a spec the agent rejects', (_name, doc, path) => {
    const { built, problems } = build(doc)
    if (built) expect([...Value.Errors(FaultSpecSchema, built.spec)].map((e) => e.path)).toEqual([])
    expect(problems.map((p) => p.split(':')[0])).toContain(path)
  })

  it('reports every problem of a document at once', () => {
    const { built, problems } = build({
      type: 'delay',
      target: { container: 'api', service: 'b' },
      mode: 'proxy',
      latency: '10ms',
      jitter: '20ms',
      rate: '1mbit',
      at: '1s',
      atStep: 1,
      duration: '500ms',
    })
    expect(built).toBeUndefined()
    // What every fault has first, then the type's own parameters (its unit's checks); a scenario's
    // problems are shown in file order anyway.
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      '/f/rate',
      '/f/target',
      '/f/atStep',
      '/f/duration',
      '/f/port',
      '/f/jitter',
    ])
  })

  it('accepts the bounds themselves', () => {
    expect(build({ type: 'delay', target: web, latency: '60s', jitter: '60s', duration: '24h' }).problems).toEqual([])
    expect(build({ type: 'bandwidth', target: web, rate: '8kbit', duration: '1s' }).problems).toEqual([])
    expect(build({ type: 'bandwidth', target: web, rate: '100gbit', duration: '1s' }).problems).toEqual([])
    expect(
      build(
        { type: 'partition', target: web, atStep: 3, peers: ['0.0.0.0/0', '255.255.255.255/32'], duration: '1s' },
        3,
      ).problems,
    ).toEqual([])
  })
})

describe('buildFaults', () => {
  const docs = [
    { type: 'delay', target: web, latency: '100ms', duration: '30s' },
    { type: 'reset', target: web, duration: '30s' },
    { type: 'loss', target: web, percent: 1, latency: '5ms', duration: '30s' },
  ] as FaultDocument[]

  it('builds every fault with its id', () => {
    const problems: string[] = []
    const built = buildFaults(
      docs.slice(0, 1),
      '/faults',
      (p, m) => problems.push(`${p}: ${m}`),
      (i, doc) => `f${i + 1}-${doc.type}`,
    )
    expect(problems).toEqual([])
    expect(built?.map((f) => f.spec.id)).toEqual(['f1-delay'])
  })

  it('reports the problems of every fault, each under its index, and builds nothing', () => {
    const problems: string[] = []
    const built = buildFaults(
      docs,
      '/faults',
      (p, m) => problems.push(`${p}: ${m}`),
      (i, doc) => `f${i + 1}-${doc.type}`,
    )
    expect(built).toBeUndefined()
    expect(problems).toEqual([
      '/faults/1: a reset fault needs port',
      expect.stringMatching(/^\/faults\/2\/latency: latency does not apply to a loss fault/),
    ])
  })

  it('checks atStep against the step count it is given', () => {
    const problems: string[] = []
    buildFaults(
      [{ type: 'partition', target: web, atStep: 2, duration: '1s' }] as FaultDocument[],
      '/faults',
      (p, m) => problems.push(`${p}: ${m}`),
      () => 'x',
      1,
    )
    expect(problems).toEqual(['/faults/0/atStep: the scenario has 1 step(s)'])
  })
})

describe('adhocFault', () => {
  it('builds a spec with a fresh adhoc id', () => {
    const a = adhocFault({ type: 'partition', target: web, direction: 'egress', duration: '30s' })
    const b = adhocFault({ type: 'partition', target: web, direction: 'egress', duration: '30s' })
    expect(a).toEqual({
      id: expect.stringMatching(/^adhoc-[0-9a-f]{8}$/) as string,
      type: 'partition',
      target: web,
      mechanism: 'iptables',
      direction: 'egress',
      durationMs: 30_000,
    })
    expect(a.id).not.toBe(b.id)
    expect(Value.Check(FaultSpecSchema, a)).toBe(true)
  })

  function problemsOf(doc: unknown, prefix?: string): string[] {
    try {
      adhocFault(doc, prefix)
    } catch (error) {
      expect(error).toBeInstanceOf(GauntletError)
      expect((error as GauntletError).code).toBe('invalid_scenario')
      return (error as GauntletError).problems.map((p) => `${p.path}: ${p.message}`)
    }
    throw new Error('expected adhocFault to throw')
  }

  it.each<[string, unknown, string | undefined, string[]]>([
    [
      'at does not apply',
      { type: 'partition', target: web, at: '5s', duration: '1s' },
      undefined,
      ['/at: an ad hoc fault starts now'],
    ],
    [
      'atStep does not apply',
      { type: 'partition', target: web, atStep: 1, duration: '1s' },
      '/body',
      ['/body/atStep: an ad hoc fault starts now'],
    ],
    ['an unknown key', { type: 'partition', target: web, duration: '1s', colour: 'red' }, '/body', ['/body/colour:']],
    ['no duration', { type: 'partition', target: web }, '/body', ['/body/duration:']],
    ['an unknown type', { type: 'corrupt', target: web, duration: '1s' }, '', ['/type:']],
    ['a duration without unit', { type: 'partition', target: web, duration: '30' }, '/body', ['/body/duration:']],
    [
      'semantic problems with the prefix',
      { type: 'delay', target: web, latency: '1ms', jitter: '2ms', duration: '1s' },
      '/body',
      ['/body/jitter: jitter larger than the latency'],
    ],
    [
      'at and a semantic problem together',
      { type: 'reset', target: web, at: '1s', duration: '1s' },
      '/body',
      ['/body/at: an ad hoc fault starts now', '/body: a reset fault needs port'],
    ],
  ])('%s', (_name, doc, prefix, expected) => {
    const problems = problemsOf(doc, prefix)
    for (const fragment of expected) expect(problems.join('\n')).toContain(fragment)
  })

  it('the error message lists every problem on one line', () => {
    expect(() => adhocFault({ type: 'reset', target: {}, duration: '1s' })).toThrow(
      new RegExp(
        String.raw`^invalid fault: /target: name exactly one .*; /: a reset fault needs port$|` +
          String.raw`^invalid fault: /: a reset fault needs port; /target: name exactly one`,
      ),
    )
  })
})

describe('faults through the scenario loader', () => {
  const head = `name: chaos
target:
  url: http://127.0.0.1:8080/
load:
  steps:
    - { rps: 10, duration: 10s }
    - { rps: 10, duration: 10s }
`

  function problemsOf(text: string): string[] {
    try {
      parseScenario(text, 'chaos.yaml')
    } catch (error) {
      expect(error).toBeInstanceOf(GauntletError)
      expect((error as GauntletError).code).toBe('invalid_scenario')
      return (error as GauntletError).problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)
    }
    return []
  }

  it('builds the faults of a valid scenario with stable ids and their start', () => {
    const scenario = parseScenario(`${head}faults:
  - type: delay
    target: { service: orders }
    latency: 100ms
    port: 8080
    atStep: 2
    duration: 5s
  - type: bandwidth
    target: { container: web }
    rate: 2mbps
    burst: 32kbit
    at: 3s
    duration: 5s
`)
    expect(scenario.faults).toEqual([
      {
        spec: {
          id: 'f1-delay',
          type: 'delay',
          target: { service: 'orders' },
          mechanism: 'auto',
          latencyMs: 100,
          port: 8080,
          durationMs: 5000,
        },
        start: { atStep: 2 },
      },
      {
        spec: {
          id: 'f2-bandwidth',
          type: 'bandwidth',
          target: { container: 'web' },
          mechanism: 'tbf',
          rateBitsPerS: 16e6,
          burstBytes: 4096,
          durationMs: 5000,
        },
        start: { atS: 3 },
      },
    ])
  })

  it('a scenario without faults has none', () => {
    expect(parseScenario(head).faults).toEqual([])
  })

  it('reports fault problems with their paths and line:column, in file order', () => {
    const text = `${head}faults:
  - type: delay
    target: { container: web }
    latency: 100ms
    jitter: 200ms
    rate: 1mbit
    duration: 5s
  - type: reset
    target: { container: web, label: a=b }
    atStep: 3
    duration: 500ms
`
    expect(problemsOf(text)).toEqual([
      '12:13 /faults/0/jitter: jitter larger than the latency would make delays negative',
      expect.stringMatching(/^13:11 \/faults\/0\/rate: rate does not apply to a delay fault/),
      '15:5 /faults/1: a reset fault needs port',
      '16:13 /faults/1/target: name exactly one of container, label or service (got container and label)',
      '17:13 /faults/1/atStep: the scenario has 2 step(s)',
      '18:15 /faults/1/duration: a fault lasts from 1s to 24h',
    ])
  })

  it('reports schema problems inside a fault at their key', () => {
    const problems = problemsOf(`${head}faults:
  - type: delay
    target: { container: web }
    latency: 100ms
    colour: red
    duration: 5s
`)
    expect(problems).toEqual([expect.stringMatching(/^12:5 \/faults\/0\/colour: unknown key "colour"/)])
  })

  it("reports fault problems along with the rest of the scenario's", () => {
    const problems = problemsOf(`${head.replace('http://127.0.0.1:8080/', 'ftp://x/')}faults:
  - type: loss
    target: { container: web }
    mode: proxy
    percent: 5
    duration: 5s
`)
    expect(problems).toEqual([
      expect.stringMatching(/^3:8 \/target\/url:/),
      expect.stringMatching(/^11:11 \/faults\/0\/mode: loss has no proxy mode/),
    ])
  })
})
