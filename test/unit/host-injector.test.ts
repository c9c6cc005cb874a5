import { GauntletError, type FaultSpec } from '@gauntlet/contracts'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { TargetContainer } from '../../packages/faults/src/docker-targets.js'
import { HostInjector, type ContainerFinder } from '../../packages/faults/src/host-injector.js'
import { FaultJournal, type JournalEntry } from '../../packages/faults/src/fault-journal.js'
import { chainStem, planFault, type Command } from '../../packages/faults/src/fault-plan.js'
import type { KernelSupport } from '../../packages/faults/src/kernel-probe.js'
import type { CommandResult, Netns } from '../../packages/faults/src/netns.js'

// Container pids above the kernel's PID_MAX_LIMIT (4194304): no real process can ever have them.
const PID_WEB = 5_000_001
const PID_API = 5_000_002
const PID_DB = 5_000_003
const PID_WEB_RESTARTED = 5_000_011
/** An owner process that cannot exist. */
const DEAD_OWNER = 99_999_999

const T0 = Date.UTC(2030, 0, 2, 3, 0, 0)
const builtinChains = ['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']

/** One scripted network namespace: addresses, root qdiscs, iptables tables; it changes as commands run. */
class FakeNamespace {
  roots = new Map<string, { kind: string; handle: string }>()
  chains: string[] = []
  rules: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] }
  constructor(readonly addrs: Array<[string, string]>) {}

  run(command: Command): CommandResult {
    const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' })
    const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: '', stderr })
    const [tool, ...args] = command
    if (tool === 'ip' && args.join(' ') === '-o -4 addr show') {
      return ok(
        this.addrs
          .map(
            ([iface, ip], i) =>
              `${i + 2}: ${iface}    inet ${ip}/16 brd 172.18.255.255 scope global ${iface}\\       valid_lft ` +
              `forever preferred_lft forever`,
          )
          .join('\n') + '\n',
      )
    }
    if (tool === 'tc') {
      const line = (iface: string): string => {
        const q = this.roots.get(iface)
        return q
          ? `qdisc ${q.kind} ${q.handle} dev ${iface} root refcnt 2 `
          : `qdisc noqueue 0: dev ${iface} root refcnt 2 `
      }
      const text = args.join(' ')
      if (text === 'qdisc show')
        return ok(
          ['qdisc noqueue 0: dev lo root refcnt 2 ', ...this.addrs.map(([iface]) => line(iface))].join('\n') + '\n',
        )
      let m = /^qdisc show dev (\S+) root$/.exec(text)
      // Filtered by device, tc leaves the device out: `qdisc noqueue 0: root refcnt 2`.
      if (m) return ok(`${line(m[1]!).replace(/ dev \S+/, '')}\n`)
      m = /^qdisc replace dev (\S+) root handle (\S+) (\S+)/.exec(text)
      if (m) {
        this.roots.set(m[1]!, { kind: m[3]!, handle: m[2]! })
        return ok()
      }
      m = /^qdisc del dev (\S+) root handle (\S+)$/.exec(text)
      if (m) {
        const q = this.roots.get(m[1]!)
        if (!q) return fail('Error: Cannot delete qdisc with handle of zero.', 2)
        if (q.handle !== m[2]) return fail('Error: Invalid handle.', 2)
        this.roots.delete(m[1]!)
        return ok()
      }
      if (/^(qdisc replace dev \S+ parent|class replace|filter replace)/.test(text))
        return this.roots.get(args[3]!)?.handle === '7a47:' ? ok() : fail("Error: Parent Qdisc doesn't exists.", 2)
      return fail(`fake tc: unexpected ${text}`, 99)
    }
    if (tool === 'iptables') {
      let rest = args[0] === '-w' ? args.slice(1) : args
      let table: 'filter' | 'nat' = 'filter'
      if (rest[0] === '-t') {
        table = rest[1] as 'filter' | 'nat'
        rest = rest.slice(2)
      }
      const [op, chain, ...spec] = rest
      const rules = this.rules[table]
      const known = (c: string): boolean => builtinChains.includes(c) || (table === 'filter' && this.chains.includes(c))
      // iptables -S quotes a comment with a ':' in it.
      const print = (c: string, s: string[]): string =>
        `-A ${c} ${s.map((a, i) => (s[i - 1] === '--comment' ? `"${a}"` : a)).join(' ')}`
      const bare = (line: string): string => line.replace(/"/g, '')
      switch (op) {
        case '-S':
          return ok(
            [
              ...(table === 'filter'
                ? ['-P INPUT ACCEPT', '-P FORWARD ACCEPT', '-P OUTPUT ACCEPT']
                : ['-P PREROUTING ACCEPT', '-P INPUT ACCEPT', '-P OUTPUT ACCEPT', '-P POSTROUTING ACCEPT']),
              ...(table === 'filter' ? this.chains.map((c) => `-N ${c}`) : []),
              ...rules,
            ].join('\n') + '\n',
          )
        case '-N':
          if (this.chains.includes(chain!)) return fail('iptables: Chain already exists.')
          this.chains.push(chain!)
          return ok()
        case '-A':
        case '-I': {
          if (!known(chain!)) return fail('iptables: No chain/target/match by that name.')
          const s = op === '-I' ? spec.slice(1) : spec
          const target = s[s.indexOf('-j') + 1]!
          if (target.startsWith('GNT-') && !known(target))
            return fail("iptables v1.8.9 (legacy): Couldn't load target `" + target + "'")
          if (op === '-I') rules.unshift(print(chain!, s))
          else rules.push(print(chain!, s))
          return ok()
        }
        case '-D': {
          const i = rules.findIndex((r) => bare(r) === bare(print(chain!, spec)))
          if (i < 0) return fail('iptables: Bad rule (does a matching rule exist in that chain?).')
          rules.splice(i, 1)
          return ok()
        }
        case '-F':
          if (!known(chain!)) return fail('iptables: No chain/target/match by that name.')
          this.rules.filter = this.rules.filter.filter((r) => !r.startsWith(`-A ${chain} `))
          return ok()
        case '-X':
          if (!this.chains.includes(chain!)) return fail('iptables: No chain/target/match by that name.')
          if (
            this.rules.filter.some((r) => r.endsWith(`-j ${chain}`)) ||
            this.rules.filter.some((r) => r.startsWith(`-A ${chain} `))
          )
            return fail('iptables v1.8.9 (legacy): Too many links.')
          this.chains = this.chains.filter((c) => c !== chain)
          return ok()
      }
      return fail(`fake iptables: unexpected ${rest.join(' ')}`, 99)
    }
    return fail(`fake: unexpected ${command.join(' ')}`, 99)
  }

  /** Only the platform's own state: what must be left untouched. */
  gauntletFree(): boolean {
    return (
      ![...this.roots.values()].some((q) => q.handle === '7a47:') &&
      !this.chains.some((c) => c.startsWith('GNT-')) &&
      ![...this.rules.filter, ...this.rules.nat].some((r) => r.includes('gauntlet:') || r.includes('GNT-'))
    )
  }
}

/** The Netns port over fake namespaces, by pid; records every command with the shared event log. */
class FakeKernel implements Netns {
  readonly namespaces = new Map<number, FakeNamespace>()
  /** Returns a result to make a command fail (or undefined to run it). */
  failOn: (command: string, pid: number) => CommandResult | undefined = () => undefined
  /** Mutating commands succeed without effect (a namespace that does not show what it was told). */
  inert = false
  constructor(readonly events: string[]) {}

  run(pid: number, command: Command): Promise<CommandResult> {
    return Promise.resolve(this.runNow(pid, command))
  }

  private runNow(pid: number, command: Command): CommandResult {
    const text = command.join(' ')
    this.events.push(`${pid}: ${text}`)
    const ns = this.namespaces.get(pid)
    if (!ns)
      return { code: 1, stdout: '', stderr: `nsenter: cannot open /proc/${pid}/ns/net: No such file or directory` }
    const forced = this.failOn(text, pid)
    if (forced) return forced
    if (this.inert && !isRead(text)) return { code: 0, stdout: '', stderr: '' }
    return ns.run(command)
  }
}

const isRead = (command: string): boolean => /^(ip -o -4 addr show|tc qdisc show|iptables -w -t \w+ -S)/.test(command)

class FakeContainers implements ContainerFinder {
  readonly byId = new Map<string, TargetContainer>()
  add(c: TargetContainer): this {
    this.byId.set(c.id, c)
    return this
  }
  resolve(target: FaultSpec['target']): Promise<TargetContainer[]> {
    const found = [...this.byId.values()].filter((c) => c.name === target.container)
    if (found.length === 0) return Promise.reject(new GauntletError('not_found', `no container "${target.container}"`))
    return Promise.resolve(found)
  }
  inspect(id: string): Promise<TargetContainer | undefined> {
    return Promise.resolve(this.byId.get(id))
  }
  running(): Promise<TargetContainer[]> {
    return Promise.resolve([...this.byId.values()])
  }
}

const fullSupport: KernelSupport = {
  netem: true,
  tbf: true,
  htb: true,
  iptables: { statistic: true, reject: true, redirect: true, time: true, comment: true },
  errors: {},
}
/** This machine's kernel: no sch_netem. */
const noNetem: KernelSupport = {
  ...fullSupport,
  netem: false,
  errors: { netem: 'Error: Specified qdisc kind is unknown.' },
}

const spec = (over: Partial<FaultSpec> & Pick<FaultSpec, 'type' | 'mechanism'>): FaultSpec => ({
  id: 'f1',
  target: { container: 'web' },
  durationMs: 60_000,
  ...over,
})
const partition = spec({ id: 'f1-partition', type: 'partition', mechanism: 'iptables', direction: 'both' })

let dir: string
let events: string[]
let kernel: FakeKernel
let containers: FakeContainers
let journal: FaultJournal
let logLines: string[]

function engineWith(support: KernelSupport = noNetem): HostInjector {
  return new HostInjector({
    containers,
    netns: kernel,
    journal,
    support: () => Promise.resolve(support),
    log: (line) => logLines.push(line),
  })
}

function journalLines(): JournalEntry[] {
  return readFileSync(join(dir, 'faults.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JournalEntry)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  vi.setSystemTime(T0)
  dir = mkdtempSync(join(tmpdir(), 'gauntlet-fault-engine-'))
  events = []
  logLines = []
  kernel = new FakeKernel(events)
  containers = new FakeContainers()
  // web has two networks; the fault's address is on eth1.
  kernel.namespaces.set(
    PID_WEB,
    new FakeNamespace([
      ['eth0', '172.18.0.5'],
      ['eth1', '172.19.0.2'],
    ]),
  )
  kernel.namespaces.set(PID_API, new FakeNamespace([['eth0', '172.18.0.6']]))
  kernel.namespaces.set(PID_DB, new FakeNamespace([['eth0', '172.18.0.7']]))
  containers.add({ id: 'c-web', name: 'web', pid: PID_WEB, ip: '172.19.0.2', labels: {} })
  journal = new FaultJournal(join(dir, 'faults.jsonl'))
  const append = journal.append.bind(journal)
  vi.spyOn(journal, 'append').mockImplementation((entry) => {
    events.push(`journal: ${entry.op}`)
    append(entry)
  })
})

afterEach(() => {
  vi.clearAllTimers()
  vi.useRealTimers()
  rmSync(dir, { recursive: true, force: true })
})

const web = (): FakeNamespace => kernel.namespaces.get(PID_WEB)!

describe('preflight', () => {
  it.each<[string, FaultSpec, KernelSupport, FaultSpec['mechanism']]>([
    [
      'delay auto without netem: the proxy',
      spec({ type: 'delay', mechanism: 'auto', latencyMs: 100, port: 8080 }),
      noNetem,
      'proxy',
    ],
    ['delay auto with netem: netem', spec({ type: 'delay', mechanism: 'auto', latencyMs: 100 }), fullSupport, 'netem'],
    ['loss auto without netem: iptables', spec({ type: 'loss', mechanism: 'auto', percent: 5 }), noNetem, 'iptables'],
    ['loss auto with netem: netem', spec({ type: 'loss', mechanism: 'auto', percent: 5 }), fullSupport, 'netem'],
    ['delay netem with netem', spec({ type: 'delay', mechanism: 'netem', latencyMs: 1 }), fullSupport, 'netem'],
    [
      'bandwidth unscoped needs no htb',
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }),
      { ...noNetem, htb: false },
      'tbf',
    ],
    ['partition', partition, noNetem, 'iptables'],
    ['reset', spec({ type: 'reset', mechanism: 'iptables', port: 80 }), noNetem, 'iptables'],
  ])('%s', async (_name, s, support, mechanism) => {
    expect(await engineWith(support).preflight(s)).toEqual({ ...s, mechanism })
    expect(events).toEqual([]) // a decision, no commands
  })

  it.each<[string, FaultSpec, KernelSupport, string, string[]]>([
    [
      'delay netem without sch_netem names the module, the config option and the fallback',
      spec({ type: 'delay', mechanism: 'netem', latencyMs: 100 }),
      noNetem,
      'unsupported',
      ['module sch_netem', 'CONFIG_NET_SCH_NETEM', 'mode: proxy', 'Specified qdisc kind is unknown.'],
    ],
    [
      'delay auto without netem and without port',
      spec({ type: 'delay', mechanism: 'auto', latencyMs: 100 }),
      noNetem,
      'invalid_scenario',
      ['needs `port`', 'mode: auto chose proxy because this kernel lacks sch_netem'],
    ],
    [
      'delay proxy without port',
      spec({ type: 'delay', mechanism: 'proxy', latencyMs: 100 }),
      fullSupport,
      'invalid_scenario',
      ['delay through the proxy needs `port`'],
    ],
    [
      'delay proxy without REDIRECT',
      spec({ type: 'delay', mechanism: 'proxy', latencyMs: 100, port: 80 }),
      { ...noNetem, iptables: { ...noNetem.iptables, redirect: false } },
      'unsupported',
      ['iptables redirect extension'],
    ],
    [
      'bandwidth without tbf',
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }),
      { ...noNetem, tbf: false, errors: { tbf: 'Error: Specified qdisc kind is unknown.' } },
      'unsupported',
      ["kernel's tbf qdisc", 'Specified qdisc kind is unknown.'],
    ],
    [
      'bandwidth scoped to a port without htb',
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, port: 80 }),
      { ...noNetem, htb: false, errors: { htb: 'htb missing' } },
      'unsupported',
      ['tbf and htb qdisc', 'htb missing'],
    ],
    [
      'bandwidth scoped to a peer without htb',
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, peer: '10.0.0.1' }),
      { ...noNetem, htb: false },
      'unsupported',
      ['tbf and htb qdisc'],
    ],
    [
      'partition without the comment match',
      partition,
      { ...noNetem, iptables: { ...noNetem.iptables, comment: false } },
      'unsupported',
      ['partition needs the iptables comment extension'],
    ],
    [
      'partition without the time match',
      partition,
      { ...noNetem, iptables: { ...noNetem.iptables, time: false } },
      'unsupported',
      ['iptables time extension'],
    ],
    [
      'reset without REJECT',
      spec({ type: 'reset', mechanism: 'iptables', port: 80 }),
      { ...noNetem, iptables: { ...noNetem.iptables, reject: false } },
      'unsupported',
      ['reset needs the iptables reject extension'],
    ],
    [
      'loss iptables without statistic',
      spec({ type: 'loss', mechanism: 'auto', percent: 5 }),
      { ...noNetem, iptables: { ...noNetem.iptables, statistic: false } },
      'unsupported',
      ['loss needs the iptables statistic extension'],
    ],
  ])('%s', async (_name, s, support, code, fragments) => {
    const error = await engineWith(support)
      .preflight(s)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GauntletError)
    expect((error as GauntletError).code).toBe(code)
    for (const fragment of fragments) expect((error as Error).message).toContain(fragment)
  })

  it('loss netem without sch_netem suggests a fallback loss has (auto -> iptables), not mode: proxy', async () => {
    // The loader rejects `loss` with `mode: proxy` ("loss has no proxy mode"), so the advice must not send users there.
    const error = (await engineWith(noNetem)
      .preflight(spec({ type: 'loss', mechanism: 'netem', percent: 5 }))
      .catch((e: unknown) => e)) as GauntletError
    expect(error.code).toBe('unsupported')
    expect(error.message).toContain('sch_netem')
    expect(error.message).toContain('mode: auto')
    expect(error.message).not.toContain('mode: proxy')
  })

  it('prepare also finds the targets', async () => {
    await expect(engineWith().prepare(spec({ ...partition, target: { container: 'nope' } }))).rejects.toThrow(
      'no container "nope"',
    )
    expect(await engineWith().prepare(spec({ type: 'loss', mechanism: 'auto', percent: 1 }))).toMatchObject({
      mechanism: 'iptables',
    })
  })
})

describe('apply', () => {
  it('journals the intent before the first command that changes anything, then applies and reads back', async () => {
    const engine = engineWith()
    const report = await engine.apply(partition)
    const intentAt = events.indexOf('journal: intent')
    const firstChange = events.findIndex((e) => e.startsWith(`${PID_WEB}: `) && !isRead(e.slice(`${PID_WEB}: `.length)))
    expect(intentAt).toBeGreaterThan(-1)
    expect(firstChange).toBeGreaterThan(intentAt)
    // Before the intent only the interface lookup ran.
    expect(events.slice(0, intentAt)).toEqual([`${PID_WEB}: ip -o -4 addr show`])
    // After the apply commands: a read-back of both tables and the qdiscs.
    const applyCommands = planFault(partition, { iface: 'eth1', untilEpochMs: T0 + 60_000 }).apply.map(
      (c) => `${PID_WEB}: ${c.join(' ')}`,
    )
    expect(events.slice(intentAt + 1, intentAt + 1 + applyCommands.length)).toEqual(applyCommands)
    expect(events.slice(intentAt + 1 + applyCommands.length, intentAt + 4 + applyCommands.length)).toEqual([
      `${PID_WEB}: tc qdisc show`,
      `${PID_WEB}: iptables -w -t filter -S`,
      `${PID_WEB}: iptables -w -t nat -S`,
    ])

    const intent = journalLines()[0]!
    expect(intent).toEqual({
      op: 'intent',
      id: 'f1-partition',
      spec: partition,
      targets: [{ containerId: 'c-web', name: 'web', pid: PID_WEB, iface: 'eth1' }],
      untilEpochMs: T0 + 60_000,
      at: T0,
      owner: { pid: process.pid, detached: false },
    })
    expect(report).toMatchObject({
      id: 'f1-partition',
      type: 'partition',
      mechanism: 'iptables',
      targets: ['web'],
      untilAt: '2030-01-02T03:01:00.000Z',
      revertedAt: null,
      revertVerified: false,
    })
    expect(web().chains).toEqual([`${chainStem('f1-partition')}IN`, `${chainStem('f1-partition')}OUT`])
    expect((await engine.list()).map((r) => r.id)).toEqual(['f1-partition'])
    // The dead man's switch (a real detached process: HostInjector has no port for it) is journaled too.
    expect(journalLines().slice(1)).toEqual([
      { op: 'helpers', id: 'f1-partition', containerId: 'c-web', deadmanPid: expect.any(Number) as number },
    ])
    await engine.revert('f1-partition', 'test over')
  })

  it('journals the decided mechanism, not auto', async () => {
    const engine = engineWith(noNetem)
    await engine.apply(spec({ id: 'f2-loss', type: 'loss', mechanism: 'auto', percent: 5 }), T0 + 30_000)
    expect(journalLines()[0]).toMatchObject({
      op: 'intent',
      spec: { mechanism: 'iptables' },
      untilEpochMs: T0 + 30_000,
    })
    expect(web().rules.filter[0]).toContain('--comment "gauntlet:f2-loss"')
    await engine.revert('f2-loss', 'test over')
  })

  it.each([
    ['the kernel default (noqueue 0:)', undefined, true],
    ['a platform htb (1:)', { kind: 'htb', handle: '1:' }, false],
    ['a platform fq_codel (8001:)', { kind: 'fq_codel', handle: '8001:' }, false],
  ])('root qdisc already present: %s', async (_name, root, allowed) => {
    if (root) web().roots.set('eth1', root)
    const engine = engineWith()
    const apply = engine.apply(spec({ id: 'f3-bandwidth', type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }))
    if (allowed) {
      await apply
      expect(web().roots.get('eth1')).toEqual({ kind: 'tbf', handle: '7a47:' })
      await engine.revert('f3-bandwidth', 'test over')
      expect(web().roots.get('eth1')).toBeUndefined()
      return
    }
    const error = (await apply.catch((e: unknown) => e)) as GauntletError
    expect(error).toBeInstanceOf(GauntletError)
    expect(error.code).toBe('fault_failed')
    expect(error.message).toContain(
      `eth1 already has a root qdisc Gauntlet did not create (qdisc ${root!.kind} ${root!.handle} root refcnt 2)`,
    )
    expect(error.message).toContain('refusing to replace it')
    // Nothing was replaced or deleted: the platform's qdisc is as it was.
    expect(events.filter((e) => / (replace|del) /.test(e))).toEqual([])
    expect(web().roots.get('eth1')).toEqual(root)
    expect(journal.unreverted()).toEqual([])
    expect(await engine.list()).toEqual([])
  })

  it(`root qdisc of our own already there (another fault, or a leftover): refused as a conflict, \
nothing replaced`, async () => {
    web().roots.set('eth1', { kind: 'tbf', handle: '7a47:' })
    const engine = engineWith()
    const error = (await engine
      .apply(spec({ id: 'f3-bandwidth', type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }))
      .catch((e: unknown) => e)) as GauntletError
    expect(error).toBeInstanceOf(GauntletError)
    expect(error.code).toBe('conflict')
    expect(error.message).toContain(
      'eth1 already carries a Gauntlet qdisc fault; one delay, loss or bandwidth fault per interface at a time',
    )
    expect(events.filter((e) => / replace /.test(e))).toEqual([])
    expect(await engine.list()).toEqual([])
  })

  it(`a command that exits non-zero fails the fault with fault_failed naming the command, \
and what was applied is reverted`, async () => {
    kernel.failOn = (c) =>
      c.startsWith('iptables -w -I OUTPUT')
        ? { code: 4, stdout: '', stderr: 'iptables: Resource temporarily unavailable.' }
        : undefined
    const engine = engineWith()
    const error = (await engine.apply(partition).catch((e: unknown) => e)) as GauntletError
    expect(error).toBeInstanceOf(GauntletError)
    expect(error.code).toBe('fault_failed')
    const out = `${chainStem('f1-partition')}OUT`
    expect(error.message).toContain(
      `\`iptables -w -I OUTPUT 1 -m time --datestop 2030-01-02T03:01:00 -m comment --comment ` +
        `gauntlet:f1-partition -j ${out}\` failed in the network namespace of pid ${PID_WEB} (exit 4): iptables: ` +
        `Resource temporarily unavailable.`,
    )
    // The IN half had been applied: it is gone again, and so is the created OUT chain.
    expect(web().gauntletFree()).toBe(true)
    const failedAt = events.findIndex((e) => e.includes('-I OUTPUT'))
    expect(events.slice(failedAt + 1).some((e) => e.includes(`-X ${chainStem('f1-partition')}IN`))).toBe(true)
    expect(events.slice(failedAt + 1).some((e) => e.includes(`-X ${out}`))).toBe(true)
    expect(journal.unreverted()).toEqual([])
    expect(await engine.list()).toEqual([])
    expect(journalLines().map((e) => e.op)).toEqual(['intent', 'reverted'])
  })

  it('a failing qdisc command reverts our root qdisc', async () => {
    kernel.failOn = (c) =>
      c.startsWith('tc filter replace')
        ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Invalid argument' }
        : undefined
    const engine = engineWith()
    await expect(
      engine.apply(spec({ id: 'f4-bandwidth', type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6, port: 8080 })),
    ).rejects.toThrow(/`tc filter replace dev eth1 parent 7a47: .*` failed .*Invalid argument/)
    expect(web().roots.get('eth1')).toBeUndefined()
    const failedAt = events.findIndex((e) => e.includes('tc filter replace'))
    expect(
      events.slice(failedAt + 1).filter((e) => !isRead(e.slice(`${PID_WEB}: `.length)) && !e.startsWith('journal')),
    ).toEqual([`${PID_WEB}: tc qdisc del dev eth1 root handle 7a47:`])
  })

  it('with several targets, a failure on one reverts the ones already applied', async () => {
    containers.add({ id: 'c-web-2', name: 'web', pid: PID_API, ip: '172.18.0.6', labels: {} })
    kernel.failOn = (c, pid) =>
      pid === PID_API && c.includes(' -N ')
        ? { code: 1, stdout: '', stderr: 'iptables: Chain already exists.' }
        : undefined
    const engine = engineWith()
    await expect(engine.apply(partition)).rejects.toThrow(
      `failed in the network namespace of pid ${PID_API} (exit 1): iptables: Chain already exists.`,
    )
    expect(journalLines()[0]).toMatchObject({
      op: 'intent',
      targets: [
        { name: 'web', pid: PID_WEB, iface: 'eth1' },
        { name: 'web', pid: PID_API, iface: 'eth0' },
      ],
    })
    expect(web().gauntletFree()).toBe(true)
    expect(kernel.namespaces.get(PID_API)!.gauntletFree()).toBe(true)
    expect(journal.unreverted()).toEqual([])
  })

  it('commands that succeed but do not show in the namespace fail the fault', async () => {
    kernel.inert = true
    await expect(engineWith().apply(partition)).rejects.toThrow(
      'fault f1-partition on web: the commands succeeded but the namespace does not show the fault',
    )
  })

  it('a second apply of an active id is a conflict', async () => {
    const engine = engineWith()
    await engine.apply(partition)
    await expect(engine.apply(partition)).rejects.toMatchObject({ code: 'conflict' })
    await engine.revert('f1-partition', 'test over')
  })

  it("a second qdisc fault on the same interface does not silently take over the first one's qdisc", async () => {
    const engine = engineWith(fullSupport)
    await engine.apply(spec({ id: 'f5-delay', type: 'delay', mechanism: 'netem', latencyMs: 100 }))
    let refused = false
    await engine
      .apply(spec({ id: 'f6-bandwidth', type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1e6 }))
      .catch(() => (refused = true))
    // Either the second is refused, or both stay what they claim to be. Replacing root 7a47: leaves
    // f5 "active" with its delay gone, and reverting f5 would then delete f6's qdisc.
    expect(refused).toBe(true)
    expect(web().roots.get('eth1')).toEqual({ kind: 'netem', handle: '7a47:' })
    await engine.revertAll('test over')
  })
})

describe('revert', () => {
  it(`undoes the plan, reads back, journals; a second call returns the same report without running \
anything`, async () => {
    const engine = engineWith()
    await engine.apply(partition)
    events.length = 0
    vi.setSystemTime(T0 + 5000)
    const report = await engine.revert('f1-partition', 'run ended')
    const revert = planFault(partition, { iface: 'eth1', untilEpochMs: T0 + 60_000 }).revert.map(
      (c) => `${PID_WEB}: ${c.join(' ')}`,
    )
    expect(events).toEqual([
      ...revert,
      `${PID_WEB}: tc qdisc show`,
      `${PID_WEB}: iptables -w -t filter -S`,
      `${PID_WEB}: iptables -w -t nat -S`,
      'journal: reverted',
    ])
    expect(report).toMatchObject({
      id: 'f1-partition',
      revertedAt: '2030-01-02T03:00:05.000Z',
      revertVerified: true,
      notes: ['reverted: run ended'],
    })
    expect(web().gauntletFree()).toBe(true)

    events.length = 0
    const again = await engine.revert('f1-partition', 'duration ended')
    expect(again).toBe(report)
    expect(events).toEqual([])
    expect(await engine.list()).toEqual([])
    expect(journal.unreverted()).toEqual([])
  })

  it('two concurrent reverts run the commands once', async () => {
    const engine = engineWith()
    await engine.apply(partition)
    events.length = 0
    const [a, b] = await Promise.all([engine.revert('f1-partition', 'stop'), engine.revert('f1-partition', 'timer')])
    expect(a).toBe(b)
    expect(events.filter((e) => e.includes(' -X '))).toHaveLength(2)
    expect(events.filter((e) => e === 'journal: reverted')).toHaveLength(1)
  })

  it("reverts by itself at the fault's end", async () => {
    const engine = engineWith()
    await engine.apply(partition, T0 + 10_000)
    await vi.advanceTimersByTimeAsync(9_999)
    expect(web().gauntletFree()).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(web().gauntletFree()).toBe(true)
    expect((await engine.revert('f1-partition', 'again')).notes).toEqual(['reverted: duration ended'])
  })

  it('a revert command that fails is made good from the read-back', async () => {
    let failures = 0
    kernel.failOn = (c) =>
      c.startsWith('iptables -w -D INPUT') && failures++ === 0
        ? { code: 1, stdout: '', stderr: 'iptables: Bad rule' }
        : undefined
    const engine = engineWith()
    await engine.apply(partition)
    const report = await engine.revert('f1-partition', 'stop')
    expect(report.revertVerified).toBe(true)
    expect(web().gauntletFree()).toBe(true)
  })

  it('a revert that cannot clean up says so', async () => {
    const engine = engineWith()
    await engine.apply(partition)
    kernel.failOn = (c) =>
      / -[DFX] /.test(c) ? { code: 1, stdout: '', stderr: 'iptables: Permission denied' } : undefined
    await expect(engine.revert('f1-partition', 'stop')).rejects.toThrow(
      /fault f1-partition did not read back clean after its revert/,
    )
  })

  it.each([
    ['restarted', true, 'web restarted during the fault: its old network namespace went with it'],
    ['disappeared', false, 'web disappeared during the fault: its old network namespace went with it'],
  ])('a target that %s is noted, not crashed on', async (_name, restarted, note) => {
    const engine = engineWith()
    await engine.apply(partition)
    kernel.namespaces.delete(PID_WEB)
    if (restarted) {
      kernel.namespaces.set(PID_WEB_RESTARTED, new FakeNamespace([['eth0', '172.19.0.2']]))
      containers.add({ id: 'c-web', name: 'web', pid: PID_WEB_RESTARTED, ip: '172.19.0.2', labels: {} })
    } else containers.byId.delete('c-web')
    events.length = 0
    const report = await engine.revert('f1-partition', 'stop')
    expect(report.notes).toEqual([note, 'reverted: stop'])
    expect(report.revertVerified).toBe(true)
    // Nothing is run against the old namespace; a restarted container's new one is only read.
    expect(events.filter((e) => e.startsWith(`${PID_WEB}:`))).toEqual([])
    expect(
      events
        .filter((e) => e.startsWith(`${PID_WEB_RESTARTED}:`))
        .every((e) => isRead(e.slice(`${PID_WEB_RESTARTED}: `.length))),
    ).toBe(true)
    expect(journal.unreverted()).toEqual([])
  })

  it('an unknown id is not_found', async () => {
    await expect(engineWith().revert('nope', 'x')).rejects.toMatchObject({ code: 'not_found' })
  })
})

describe('recover', () => {
  /** Puts a fault's marks into a namespace as if an earlier process had applied it. */
  function applied(pid: number, s: FaultSpec, iface: string, untilEpochMs: number): void {
    for (const command of planFault(s, { iface, untilEpochMs }).apply) {
      const result = kernel.namespaces.get(pid)!.run(command)
      expect(result.code, command.join(' ')).toBe(0)
    }
  }
  const intent = (
    s: FaultSpec,
    target: { containerId: string; name: string; pid: number; iface: string },
    owner: { pid: number; detached: boolean },
    untilEpochMs = T0 + 60_000,
  ): JournalEntry => ({
    op: 'intent',
    id: s.id,
    spec: s,
    targets: [target],
    untilEpochMs,
    at: T0 - 5000,
    owner,
  })

  const webTarget = { containerId: 'c-web', name: 'web', pid: PID_WEB, iface: 'eth1' }
  const apiTarget = { containerId: 'c-api', name: 'api', pid: PID_API, iface: 'eth0' }
  const deadPartition: FaultSpec = { ...partition, id: 'dead-partition' }
  const deadDelay = spec({ id: 'dead-delay', type: 'delay', mechanism: 'netem', latencyMs: 100 })
  const liveLoss = spec({
    id: 'live-loss',
    type: 'loss',
    mechanism: 'iptables',
    percent: 10,
    target: { container: 'api' },
  })
  const ghostReset = spec({
    id: 'ghost-reset',
    type: 'reset',
    mechanism: 'iptables',
    port: 8080,
    target: { container: 'api' },
  })

  beforeEach(() => {
    containers.add({ id: 'c-api', name: 'api', pid: PID_API, ip: '172.18.0.6', labels: {} })
    containers.add({ id: 'c-db', name: 'db', pid: PID_DB, ip: '172.18.0.7', labels: {} })
    // The platform's own rules and chain in web, which recovery must leave alone.
    web().chains.push('PLATFORM-FW')
    web().rules.filter.push(
      '-A INPUT -m comment --comment "platform: keep" -j PLATFORM-FW',
      '-A PLATFORM-FW -s 10.0.0.0/8 -j ACCEPT',
    )
    web().rules.nat.push('-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT')
  })

  it('reverts journaled faults whose owner is gone, removes orphan marks, keeps live faults', async () => {
    applied(PID_WEB, deadPartition, 'eth1', T0 + 60_000)
    applied(PID_WEB, deadDelay, 'eth1', T0 + 60_000)
    applied(PID_API, liveLoss, 'eth0', T0 + 60_000)
    applied(PID_API, ghostReset, 'eth0', T0 + 60_000) // in no journal
    kernel.namespaces.get(PID_DB)!.roots.set('eth0', { kind: 'tbf', handle: '7a47:' }) // in no journal
    journal.append(intent(deadPartition, webTarget, { pid: DEAD_OWNER, detached: false }))
    journal.append(intent(deadDelay, webTarget, { pid: DEAD_OWNER, detached: false }))
    // Detached, before its end: live.
    journal.append(intent(liveLoss, apiTarget, { pid: DEAD_OWNER, detached: true }, T0 + 60_000))
    const webBefore = {
      chains: ['PLATFORM-FW'],
      filter: [
        '-A INPUT -m comment --comment "platform: keep" -j PLATFORM-FW',
        '-A PLATFORM-FW -s 10.0.0.0/8 -j ACCEPT',
      ],
      nat: ['-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT'],
    }

    const cleaned = await engineWith().recover()

    expect(web().gauntletFree()).toBe(true)
    expect({ chains: web().chains, filter: web().rules.filter, nat: web().rules.nat }).toEqual(webBefore)
    expect(web().roots.get('eth1')).toBeUndefined()
    // The qdisc was deleted by our handle only.
    expect(events.filter((e) => e.includes('tc qdisc del'))).toContainEqual(
      `${PID_WEB}: tc qdisc del dev eth1 root handle 7a47:`,
    )
    expect(events.filter((e) => e.includes('tc qdisc del')).every((e) => e.endsWith('root handle 7a47:'))).toBe(true)

    const api = kernel.namespaces.get(PID_API)!
    expect(api.chains).toEqual([`${chainStem('live-loss')}IN`])
    expect(api.rules.filter.filter((r) => r.includes('gauntlet:'))).toEqual([
      expect.stringContaining('gauntlet:live-loss'),
    ])
    expect(kernel.namespaces.get(PID_DB)!.roots.size).toBe(0)

    expect(cleaned).toEqual(expect.arrayContaining(['web', 'api', 'db']))
    expect(journal.unreverted().map((i) => i.id)).toEqual(['live-loss'])
    expect(journalLines()).toHaveLength(1) // compacted
    expect(logLines.join('\n')).toContain('reverted faults left by a previous process in:')
  })

  it('a detached fault past its end is reverted', async () => {
    applied(PID_API, liveLoss, 'eth0', T0 - 1000)
    journal.append(intent(liveLoss, apiTarget, { pid: DEAD_OWNER, detached: true }, T0 - 1000))
    await engineWith().recover()
    expect(kernel.namespaces.get(PID_API)!.gauntletFree()).toBe(true)
    expect(journal.unreverted()).toEqual([])
  })

  it('a journaled fault whose container is gone or restarted does not stop recovery', async () => {
    journal.append(
      intent(
        deadDelay,
        { containerId: 'c-gone', name: 'gone', pid: 5_000_099, iface: 'eth0' },
        { pid: DEAD_OWNER, detached: false },
      ),
    )
    // Restarted: the journal has the old pid; the container runs with a new one. Its netem went with the old namespace.
    journal.append(
      intent(
        spec({ ...deadDelay, id: 'dead-delay-2' }),
        { ...webTarget, pid: 4_999_999 },
        { pid: DEAD_OWNER, detached: false },
      ),
    )
    web().roots.set('eth1', { kind: 'htb', handle: '1:' }) // the platform's, in the new namespace
    await engineWith().recover()
    expect(web().roots.get('eth1')).toEqual({ kind: 'htb', handle: '1:' })
    expect(events.some((e) => e.includes('5000099:'))).toBe(false)
    expect(journal.unreverted()).toEqual([])
  })

  it('an orphan qdisc is removed even when a live iptables fault runs in the same container', async () => {
    applied(PID_API, liveLoss, 'eth0', T0 + 60_000)
    kernel.namespaces.get(PID_API)!.roots.set('eth0', { kind: 'netem', handle: '7a47:' }) // in no journal
    journal.append(intent(liveLoss, apiTarget, { pid: DEAD_OWNER, detached: true }))
    await engineWith().recover()
    // The live fault uses no qdisc, so it cannot claim this one.
    expect(kernel.namespaces.get(PID_API)!.roots.get('eth0')).toBeUndefined()
    expect(kernel.namespaces.get(PID_API)!.chains).toEqual([`${chainStem('live-loss')}IN`])
  })
})
