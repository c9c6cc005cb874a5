import type { FaultSpec } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import {
  chainStem,
  netemArgs,
  planFault,
  ruleMark,
  tbfArgs,
  type Command,
  type FaultPlan,
} from '../../packages/faults/src/fault-plan.js'
import { expectMarksMatchApply, expectRevertUndoesApply, iptablesArgs } from '../helpers/plan-checks.js'

/** 2030-01-02T03:04:05.001Z: the fault ends one millisecond into a second, so --datestop rounds up. */
const until = Date.UTC(2030, 0, 2, 3, 4, 5, 1)
const D = '2030-01-02T03:04:06'
const ctx = { iface: 'eth1', untilEpochMs: until }

const spec = (over: Partial<FaultSpec> & Pick<FaultSpec, 'type' | 'mechanism'>): FaultSpec => ({
  id: 'f1',
  target: { container: 'web' },
  durationMs: 60_000,
  ...over,
})

const IN = `${chainStem('f1')}IN`
const OUT = `${chainStem('f1')}OUT`
const expiry = ['-m', 'time', '--datestop', D]
const comment = ['-m', 'comment', '--comment', 'gauntlet:f1']
const jump = (builtin: 'INPUT' | 'OUTPUT', chain: string): string[] => [builtin, ...expiry, ...comment, '-j', chain]
const root = ['tc', 'qdisc', 'replace', 'dev', 'eth1', 'root', 'handle', '7a47:']
const delRoot = ['tc', 'qdisc', 'del', 'dev', 'eth1', 'root', 'handle', '7a47:']
const htbApply = (leaf: string[], match: string[]): Command[] => [
  [...root, 'htb', 'default', '1', 'r2q', '1000'],
  [
    'tc',
    'class',
    'replace',
    'dev',
    'eth1',
    'parent',
    '7a47:',
    'classid',
    '7a47:1',
    'htb',
    'rate',
    '100gbit',
    'quantum',
    '60000',
  ],
  [
    'tc',
    'class',
    'replace',
    'dev',
    'eth1',
    'parent',
    '7a47:',
    'classid',
    '7a47:2',
    'htb',
    'rate',
    '100gbit',
    'quantum',
    '60000',
  ],
  ['tc', 'qdisc', 'replace', 'dev', 'eth1', 'parent', '7a47:2', 'handle', '7a48:', ...leaf],
  [
    'tc',
    'filter',
    'replace',
    'dev',
    'eth1',
    'parent',
    '7a47:',
    'protocol',
    'ip',
    'prio',
    '1',
    'u32',
    ...match,
    'flowid',
    '7a47:2',
  ],
]
const chainApply = (chain: string, builtin: 'INPUT' | 'OUTPUT', rules: string[][]): Command[] => [
  ['iptables', '-w', '-N', chain],
  ...rules.map((r) => ['iptables', '-w', '-A', chain, ...r]),
  ['iptables', '-w', '-I', builtin, '1', ...expiry, ...comment, '-j', chain],
]
const chainRevert = (chain: string, builtin: 'INPUT' | 'OUTPUT'): Command[] => [
  ['iptables', '-w', '-D', ...jump(builtin, chain)],
  ['iptables', '-w', '-F', chain],
  ['iptables', '-w', '-X', chain],
]
const tbf1mbit = ['tbf', 'rate', '1000000bit', 'burst', '3200', 'latency', '200ms']

const qdiscMarks = { qdisc: true, rules: false }
const ruleMarks = { qdisc: false, rules: true }

const cases: Array<[string, FaultSpec, FaultPlan, PlanOpts?]> = [
  [
    'delay netem with jitter, correlation and distribution',
    spec({ type: 'delay', mechanism: 'netem', latencyMs: 100, jitterMs: 10, correlation: 25, distribution: 'normal' }),
    {
      apply: [[...root, 'netem', 'delay', '100ms', '10ms', '25%', 'distribution', 'normal']],
      revert: [delRoot],
      marks: qdiscMarks,
    },
  ],
  [
    'delay netem, latency only',
    spec({ type: 'delay', mechanism: 'netem', latencyMs: 250 }),
    { apply: [[...root, 'netem', 'delay', '250ms']], revert: [delRoot], marks: qdiscMarks },
  ],
  [
    'delay netem scoped to the service port (htb + u32 on the source port)',
    spec({ type: 'delay', mechanism: 'netem', latencyMs: 100, port: 8080 }),
    {
      apply: htbApply(['netem', 'delay', '100ms'], ['match', 'ip', 'sport', '8080', '0xffff']),
      revert: [delRoot],
      marks: qdiscMarks,
    },
  ],
  [
    'loss netem',
    spec({ type: 'loss', mechanism: 'netem', percent: 5, correlation: 30 }),
    { apply: [[...root, 'netem', 'loss', '5%', '30%']], revert: [delRoot], marks: qdiscMarks },
  ],
  [
    'loss iptables statistic',
    spec({ type: 'loss', mechanism: 'iptables', percent: 5 }),
    {
      apply: chainApply(IN, 'INPUT', [['-m', 'statistic', '--mode', 'random', '--probability', '0.05', '-j', 'DROP']]),
      revert: chainRevert(IN, 'INPUT'),
      marks: ruleMarks,
    },
  ],
  [
    'loss iptables scoped to a peer and a port',
    spec({ type: 'loss', mechanism: 'iptables', percent: 100, peer: '10.0.0.5', port: 5432 }),
    {
      apply: chainApply(IN, 'INPUT', [
        [
          '-s',
          '10.0.0.5',
          '-p',
          'tcp',
          '--dport',
          '5432',
          '-m',
          'statistic',
          '--mode',
          'random',
          '--probability',
          '1',
          '-j',
          'DROP',
        ],
      ]),
      revert: chainRevert(IN, 'INPUT'),
      marks: ruleMarks,
    },
  ],
  [
    'bandwidth tbf, unscoped',
    spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }),
    { apply: [[...root, ...tbf1mbit]], revert: [delRoot], marks: qdiscMarks },
  ],
  [
    'bandwidth tbf scoped to a port',
    spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, port: 8080 }),
    { apply: htbApply(tbf1mbit, ['match', 'ip', 'sport', '8080', '0xffff']), revert: [delRoot], marks: qdiscMarks },
  ],
  [
    'bandwidth tbf scoped to a peer',
    spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, peer: '10.1.0.0/16' }),
    { apply: htbApply(tbf1mbit, ['match', 'ip', 'dst', '10.1.0.0/16']), revert: [delRoot], marks: qdiscMarks },
  ],
  [
    'bandwidth tbf scoped to a port and a peer',
    spec({
      type: 'bandwidth',
      mechanism: 'tbf',
      rateBitsPerS: 16e6,
      burstBytes: 4096,
      limitBytes: 65536,
      port: 443,
      peer: '10.0.0.9',
    }),
    {
      apply: htbApply(
        ['tbf', 'rate', '16000000bit', 'burst', '4096', 'limit', '65536'],
        ['match', 'ip', 'sport', '443', '0xffff', 'match', 'ip', 'dst', '10.0.0.9'],
      ),
      revert: [delRoot],
      marks: qdiscMarks,
    },
  ],
  [
    'partition ingress',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'ingress' }),
    { apply: chainApply(IN, 'INPUT', [['-j', 'DROP']]), revert: chainRevert(IN, 'INPUT'), marks: ruleMarks },
  ],
  [
    'partition egress',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'egress' }),
    { apply: chainApply(OUT, 'OUTPUT', [['-j', 'DROP']]), revert: chainRevert(OUT, 'OUTPUT'), marks: ruleMarks },
  ],
  [
    'partition both directions',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'both' }),
    {
      apply: [...chainApply(IN, 'INPUT', [['-j', 'DROP']]), ...chainApply(OUT, 'OUTPUT', [['-j', 'DROP']])],
      revert: [...chainRevert(IN, 'INPUT'), ...chainRevert(OUT, 'OUTPUT')],
      marks: ruleMarks,
    },
  ],
  [
    'partition (no direction given means both)',
    spec({ type: 'partition', mechanism: 'iptables' }),
    {
      apply: [...chainApply(IN, 'INPUT', [['-j', 'DROP']]), ...chainApply(OUT, 'OUTPUT', [['-j', 'DROP']])],
      revert: [...chainRevert(IN, 'INPUT'), ...chainRevert(OUT, 'OUTPUT')],
      marks: ruleMarks,
    },
  ],
  [
    'partition ingress from two peers',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'ingress', peers: ['10.0.0.5', '10.2.0.0/16'] }),
    {
      apply: chainApply(IN, 'INPUT', [
        ['-s', '10.0.0.5', '-j', 'DROP'],
        ['-s', '10.2.0.0/16', '-j', 'DROP'],
      ]),
      revert: chainRevert(IN, 'INPUT'),
      marks: ruleMarks,
    },
  ],
  [
    'partition both ways with peers (source in, destination out)',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'both', peers: ['10.0.0.5'] }),
    {
      apply: [
        ...chainApply(IN, 'INPUT', [['-s', '10.0.0.5', '-j', 'DROP']]),
        ...chainApply(OUT, 'OUTPUT', [['-d', '10.0.0.5', '-j', 'DROP']]),
      ],
      revert: [...chainRevert(IN, 'INPUT'), ...chainRevert(OUT, 'OUTPUT')],
      marks: ruleMarks,
    },
  ],
  [
    'partition both ways of one port',
    spec({ type: 'partition', mechanism: 'iptables', direction: 'both', port: 5432 }),
    {
      apply: [
        ...chainApply(IN, 'INPUT', [['-p', 'tcp', '--dport', '5432', '-j', 'DROP']]),
        ...chainApply(OUT, 'OUTPUT', [['-p', 'tcp', '--sport', '5432', '-j', 'DROP']]),
      ],
      revert: [...chainRevert(IN, 'INPUT'), ...chainRevert(OUT, 'OUTPUT')],
      marks: ruleMarks,
    },
  ],
  [
    'reset of a port',
    spec({ type: 'reset', mechanism: 'iptables', port: 8080 }),
    {
      apply: chainApply(IN, 'INPUT', [['-p', 'tcp', '--dport', '8080', '-j', 'REJECT', '--reject-with', 'tcp-reset']]),
      revert: chainRevert(IN, 'INPUT'),
      marks: ruleMarks,
    },
  ],
  [
    'reset of a port, from one peer',
    spec({ type: 'reset', mechanism: 'iptables', port: 8080, peer: '10.0.0.7' }),
    {
      apply: chainApply(IN, 'INPUT', [
        ['-s', '10.0.0.7', '-p', 'tcp', '--dport', '8080', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
      ]),
      revert: chainRevert(IN, 'INPUT'),
      marks: ruleMarks,
    },
  ],
  [
    'delay through the proxy: REDIRECT of the service port to the proxy port',
    spec({ type: 'delay', mechanism: 'proxy', latencyMs: 100, port: 8080 }),
    {
      // New connections only (--syn); at the end an ACCEPT bypass goes first while the proxy drains.
      apply: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-I',
          'PREROUTING',
          '1',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          ...expiry,
          ...comment,
          '-j',
          'REDIRECT',
          '--to-ports',
          '45123',
        ],
      ],
      drain: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-I',
          'PREROUTING',
          '1',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          ...expiry,
          ...comment,
          '-j',
          'ACCEPT',
        ],
      ],
      revert: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-D',
          'PREROUTING',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          ...expiry,
          ...comment,
          '-j',
          'REDIRECT',
          '--to-ports',
          '45123',
        ],
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-D',
          'PREROUTING',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          ...expiry,
          ...comment,
          '-j',
          'ACCEPT',
        ],
      ],
      marks: ruleMarks,
    },
    { proxyPort: 45123 },
  ],
  [
    'delay through the proxy, from one peer',
    spec({ type: 'delay', mechanism: 'proxy', latencyMs: 100, port: 8080, peer: '10.0.0.8' }),
    {
      // New connections only (--syn); at the end an ACCEPT bypass goes first while the proxy drains.
      apply: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-I',
          'PREROUTING',
          '1',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          '-s',
          '10.0.0.8',
          ...expiry,
          ...comment,
          '-j',
          'REDIRECT',
          '--to-ports',
          '40000',
        ],
      ],
      drain: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-I',
          'PREROUTING',
          '1',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          '-s',
          '10.0.0.8',
          ...expiry,
          ...comment,
          '-j',
          'ACCEPT',
        ],
      ],
      revert: [
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-D',
          'PREROUTING',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          '-s',
          '10.0.0.8',
          ...expiry,
          ...comment,
          '-j',
          'REDIRECT',
          '--to-ports',
          '40000',
        ],
        [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-D',
          'PREROUTING',
          '-p',
          'tcp',
          '--dport',
          '8080',
          '--syn',
          '-s',
          '10.0.0.8',
          ...expiry,
          ...comment,
          '-j',
          'ACCEPT',
        ],
      ],
      marks: ruleMarks,
    },
    { proxyPort: 40000 },
  ],
]
interface PlanOpts {
  proxyPort?: number
}

describe('fault plan: exact argv', () => {
  it.each(cases)('%s', (_name, s, expected, opts) => {
    expect(planFault(s, { ...ctx, ...(opts ?? {}) })).toEqual(expected)
  })
})

describe('netem and tbf arguments', () => {
  it.each<[string, Partial<FaultSpec> & Pick<FaultSpec, 'type'>, string[]]>([
    ['latency only', { type: 'delay', latencyMs: 100 }, ['netem', 'delay', '100ms']],
    ['sub-millisecond latency keeps microseconds', { type: 'delay', latencyMs: 0.25 }, ['netem', 'delay', '0.25ms']],
    ['latency and jitter', { type: 'delay', latencyMs: 100, jitterMs: 10 }, ['netem', 'delay', '100ms', '10ms']],
    [
      'jitter and zero correlation',
      { type: 'delay', latencyMs: 100, jitterMs: 10, correlation: 0 },
      ['netem', 'delay', '100ms', '10ms', '0%'],
    ],
    [
      'jitter and distribution',
      { type: 'delay', latencyMs: 100, jitterMs: 10, distribution: 'pareto' },
      ['netem', 'delay', '100ms', '10ms', 'distribution', 'pareto'],
    ],
    ['loss', { type: 'loss', percent: 5 }, ['netem', 'loss', '5%']],
    ['loss with correlation', { type: 'loss', percent: 0.5, correlation: 25 }, ['netem', 'loss', '0.5%', '25%']],
  ])('netem: %s', (_name, over, expected) => {
    expect(netemArgs(spec({ mechanism: 'netem', ...over }))).toEqual(expected)
  })

  it.each<[string, Partial<FaultSpec>, string[]]>([
    [
      '1mbit: the 3200-byte minimum bucket, 200 ms of queue',
      { rateBitsPerS: 1e6 },
      ['tbf', 'rate', '1000000bit', 'burst', '3200', 'latency', '200ms'],
    ],
    [
      '1gbit: the bucket holds 10 ms of rate',
      { rateBitsPerS: 1e9 },
      ['tbf', 'rate', '1000000000bit', 'burst', '1250000', 'latency', '200ms'],
    ],
    [
      'explicit burst and limit',
      { rateBitsPerS: 16e6, burstBytes: 4096, limitBytes: 65536 },
      ['tbf', 'rate', '16000000bit', 'burst', '4096', 'limit', '65536'],
    ],
  ])('tbf: %s', (_name, over, expected) => {
    expect(tbfArgs(spec({ type: 'bandwidth', mechanism: 'tbf', ...over }))).toEqual(expected)
  })
})

/** Every plan of the table, for the properties every plan must have. */
const plans = cases.map(([name, s, , opts]) => ({ name, spec: s, plan: planFault(s, { ...ctx, ...(opts ?? {}) }) }))

const builtins = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'])

describe('fault plan: marks and expiry', () => {
  it.each(plans.filter((p) => p.plan.marks.rules))(
    '$name: every rule in a built-in chain carries gauntlet:<id> and --datestop at the end',
    ({ spec: s, plan }) => {
      const inserted = plan.apply.filter(
        (c) => c[0] === 'iptables' && ['-I', '-A'].includes(iptablesArgs(c)[0]!) && builtins.has(iptablesArgs(c)[1]!),
      )
      expect(inserted.length).toBeGreaterThan(0)
      for (const cmd of inserted) {
        const args = iptablesArgs(cmd)
        expect(args[0]).toBe('-I') // ahead of the platform's own rules
        expect(args[2]).toBe('1')
        expect(args.join(' ')).toContain(`-m comment --comment ${ruleMark(s.id)}`)
        expect(args.join(' ')).toContain(`-m time --datestop ${D}`)
      }
    },
  )

  it.each(plans.filter((p) => p.plan.marks.rules))(
    '$name: every other rule lives in a chain of this fault',
    ({ spec: s, plan }) => {
      for (const cmd of plan.apply.filter((c) => c[0] === 'iptables')) {
        const [op, chain] = iptablesArgs(cmd)
        if (builtins.has(chain!)) continue
        expect(['-N', '-A']).toContain(op)
        expect(chain!.startsWith(chainStem(s.id))).toBe(true)
      }
    },
  )

  it.each([
    ['one millisecond into a second rounds up', Date.UTC(2030, 0, 2, 3, 4, 5, 1), '2030-01-02T03:04:06'],
    ['an exact second stays', Date.UTC(2030, 0, 2, 3, 4, 5, 0), '2030-01-02T03:04:05'],
    [
      'the last millisecond of a day rolls into the next day',
      Date.UTC(2030, 11, 31, 23, 59, 59, 999),
      '2031-01-01T00:00:00',
    ],
  ])('--datestop is UTC, in whole seconds: %s', (_name, untilEpochMs, expected) => {
    const plan = planFault(spec({ type: 'partition', mechanism: 'iptables', direction: 'ingress' }), {
      iface: 'eth0',
      untilEpochMs,
    })
    const jumpCmd = plan.apply.find((c) => c.includes('--datestop'))!
    expect(jumpCmd[jumpCmd.indexOf('--datestop') + 1]).toBe(expected)
  })

  it('the proxy plan stops at the same rounded-up end', () => {
    const plan = planFault(spec({ type: 'delay', mechanism: 'proxy', port: 80, latencyMs: 1 }), {
      iface: 'eth0',
      untilEpochMs: Date.UTC(2031, 5, 1, 0, 0, 0, 500),
      proxyPort: 41000,
    })
    expect(plan.apply[0]!.join(' ')).toContain('--datestop 2031-06-01T00:00:01')
  })
})

describe('fault plan: revert undoes apply, and the marks are what apply leaves', () => {
  it.each(plans)('$name', ({ spec: s, plan }) => {
    expectRevertUndoesApply(plan, 'eth1')
    expectMarksMatchApply(plan, s.id)
  })
})

describe('fault plan: chain names', () => {
  const runId = '20300102-030405-a1b2c3'
  const ids = [
    'f1',
    `${runId}-f1-partition`,
    `${runId}-f2-partition`,
    `${runId}-f10-partition`,
    // 40 characters (the longest id), differing only in the last one.
    `${runId}-f1-partition-aaaaaaaa`.slice(0, 39) + 'a',
    `${runId}-f1-partition-aaaaaaaa`.slice(0, 39) + 'b',
  ]

  it('are at most 28 characters (the iptables limit)', () => {
    for (const id of ids) {
      const plan = planFault(spec({ id, type: 'partition', mechanism: 'iptables', direction: 'both' }), ctx)
      const chains = plan.apply.filter((c) => c[2] === '-N').map((c) => c[3]!)
      expect(chains).toHaveLength(2)
      for (const chain of chains) {
        expect(chain.length).toBeLessThanOrEqual(28)
        expect(chain.startsWith('GNT-')).toBe(true)
      }
    }
  })

  it('are distinct for faults whose ids share a long prefix', () => {
    const chains = ids.flatMap((id) =>
      planFault(spec({ id, type: 'partition', mechanism: 'iptables', direction: 'both' }), ctx)
        .apply.filter((c) => c[2] === '-N')
        .map((c) => c[3]!),
    )
    expect(new Set(chains).size).toBe(chains.length)
    // And no fault's chains are claimed by another fault's stem.
    for (const id of ids) {
      const others = ids.filter((o) => o !== id).flatMap((o) => [`${chainStem(o)}IN`, `${chainStem(o)}OUT`])
      expect(others.filter((c) => c.startsWith(chainStem(id)))).toEqual([])
    }
  })

  it('are the same for the same id (revert and recovery find them again)', () => {
    expect(chainStem(ids[1]!)).toBe(chainStem(ids[1]!))
    expect(chainStem(ids[1]!)).toMatch(/^GNT-[0-9a-f]{12}-$/)
  })
})
