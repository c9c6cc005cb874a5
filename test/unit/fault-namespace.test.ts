import { GauntletError } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { chainStem, type Command } from '../../packages/faults/src/fault-plan.js'
import {
  interfaceOf,
  isClean,
  marksOf,
  readMarks,
  removeMarks,
  type GauntletMarks,
} from '../../packages/faults/src/namespace-state.js'
import type { CommandResult, Netns } from '../../packages/faults/src/netns.js'

/** A namespace that answers reads from canned outputs and records every command it is given. */
function scriptedNetns(outputs: Record<string, string | CommandResult>): Netns & { log: string[] } {
  const log: string[] = []
  return {
    log,
    run: (pid: number, command: Command): Promise<CommandResult> => {
      const key = command.join(' ')
      log.push(`${pid}: ${key}`)
      const out = outputs[key] ?? ''
      return Promise.resolve(typeof out === 'string' ? { code: 0, stdout: out, stderr: '' } : out)
    },
  }
}

const partitionId = '20300102-030405-a1b2c3-f1-partition'
const proxyId = '20300102-030405-a1b2c3-f2-delay'
const IN = `${chainStem(partitionId)}IN`
const OUT = `${chainStem(partitionId)}OUT`

// A container on two networks, with Docker's own nat rules (embedded DNS), a platform firewall
// chain with a commented rule, a platform root qdisc on eth2, and a scoped Gauntlet bandwidth fault on eth0.
const tcShow = [
  'qdisc noqueue 0: dev lo root refcnt 2 ',
  'qdisc htb 7a47: dev eth0 root refcnt 2 r2q 1000 default 0x1 direct_packets_stat 0 direct_qlen 1000',
  'qdisc tbf 7a48: dev eth0 parent 7a47:2 rate 1Mbit burst 3200b lat 200ms ',
  'qdisc fq_codel 0: dev eth1 root refcnt 2 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms ' +
    'memory_limit 32Mb ecn drop_batch 64 ',
  'qdisc ingress ffff: dev eth1 parent ffff:fff1 ---------------- ',
  'qdisc htb 1: dev eth2 root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000',
  'qdisc netem 7a47: dev eth2 parent 1:30 limit 1000 delay 5ms',
  '',
].join('\n')

const filterS = [
  '-P INPUT ACCEPT',
  '-P FORWARD ACCEPT',
  '-P OUTPUT ACCEPT',
  `-N ${IN}`,
  `-N ${OUT}`,
  '-N PLATFORM-FW',
  '-N GNTX-PLATFORM',
  `-A INPUT -m time --datestop 2030-01-02T03:04:06 -m comment --comment "gauntlet:${partitionId}" -j ${IN}`,
  '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "platform: ssh, not gauntlet:x" -j ACCEPT',
  '-A INPUT -m comment --comment "gauntlet-sidecar" -j PLATFORM-FW',
  '-A INPUT -j PLATFORM-FW',
  `-A OUTPUT -m time --datestop 2030-01-02T03:04:06 -m comment --comment gauntlet:${partitionId} -j ${OUT}`,
  `-A ${IN} -j DROP`,
  `-A ${OUT} -j DROP`,
  '-A PLATFORM-FW -s 10.0.0.0/8 -j ACCEPT',
  '',
].join('\n')

const natS = [
  '-P PREROUTING ACCEPT',
  '-P INPUT ACCEPT',
  '-P OUTPUT ACCEPT',
  '-P POSTROUTING ACCEPT',
  '-N DOCKER_OUTPUT',
  '-N DOCKER_POSTROUTING',
  `-A PREROUTING -p tcp -m tcp --dport 8080 -m time --datestop 2030-01-02T03:04:06 -m comment --comment ` +
    `"gauntlet:${proxyId}" -j REDIRECT --to-ports 45000`,
  '-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT',
  '-A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING',
  '-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:36779',
  '-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:52071',
  '-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 36779 -j SNAT --to-source :53',
  '',
].join('\n')

const reads = (tc: string, filter: string, nat: string): Record<string, string> => ({
  'tc qdisc show': tc,
  'iptables -w -t filter -S': filter,
  'iptables -w -t nat -S': nat,
})

const platformOnly = {
  tc:
    'qdisc noqueue 0: dev lo root refcnt 2 \nqdisc htb 1: dev eth0 root refcnt 2 r2q 10 default 0x30\n' +
    'qdisc fq_codel 0: dev eth1 root refcnt 2 limit 10240p\n',
  filter:
    '-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-N PLATFORM-FW\n' +
    '-A INPUT -m comment --comment "platform: allow all" -j ACCEPT\n-A INPUT -j PLATFORM-FW\n',
  nat: natS
    .split('\n')
    .filter((l) => !l.includes('gauntlet'))
    .join('\n'),
}

describe('readMarks', () => {
  it('reports our root qdisc, our marked rules with their table, and our chains; nothing of the platform', async () => {
    const netns = scriptedNetns(reads(tcShow, filterS, natS))
    const marks = await readMarks(netns, 4242)
    expect(marks).toEqual({
      qdiscs: ['eth0'],
      rules: [
        {
          table: 'filter',
          rule:
            `-A INPUT -m time --datestop 2030-01-02T03:04:06 ` +
            `-m comment --comment "gauntlet:${partitionId}" -j ${IN}`,
        },
        {
          table: 'filter',
          rule:
            `-A OUTPUT -m time --datestop 2030-01-02T03:04:06 ` +
            `-m comment --comment gauntlet:${partitionId} -j ${OUT}`,
        },
        {
          table: 'nat',
          rule:
            `-A PREROUTING -p tcp -m tcp --dport 8080 -m time --datestop 2030-01-02T03:04:06 -m comment --comment ` +
            `"gauntlet:${proxyId}" -j REDIRECT --to-ports 45000`,
        },
      ],
      chains: [IN, OUT],
    })
    expect(netns.log).toEqual(['4242: tc qdisc show', '4242: iptables -w -t filter -S', '4242: iptables -w -t nat -S'])
  })

  it("a namespace with only the platform's qdiscs, rules and chains is clean", async () => {
    const marks = await readMarks(scriptedNetns(reads(platformOnly.tc, platformOnly.filter, platformOnly.nat)), 1)
    expect(marks).toEqual({ qdiscs: [], rules: [], chains: [] })
    expect(isClean(marks)).toBe(true)
  })

  it('an empty namespace (fresh container) is clean', async () => {
    const marks = await readMarks(
      scriptedNetns(
        reads(
          'qdisc noqueue 0: dev lo root refcnt 2 \nqdisc noqueue 0: dev eth0 root refcnt 2 \n',
          '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n',
          '',
        ),
      ),
      1,
    )
    expect(isClean(marks)).toBe(true)
  })

  it('a read that fails is an error naming the command, never "clean"', async () => {
    const netns = scriptedNetns({
      ...reads(tcShow, filterS, natS),
      'iptables -w -t nat -S': {
        code: 3,
        stdout: '',
        stderr: "iptables v1.8.9 (legacy): can't initialize iptables table `nat': Permission denied",
      },
    })
    const error = await readMarks(netns, 7).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GauntletError)
    expect((error as GauntletError).code).toBe('fault_failed')
    expect((error as Error).message).toContain('`iptables -w -t nat -S` failed')
    expect((error as Error).message).toContain('Permission denied')
  })
})

describe('marksOf and isClean', () => {
  const all: GauntletMarks = {
    qdiscs: ['eth0'],
    rules: [
      { table: 'filter', rule: `-A INPUT -m comment --comment "gauntlet:${partitionId}" -j ${IN}` },
      {
        table: 'nat',
        rule:
          `-A PREROUTING -p tcp -m tcp --dport 8080 -m comment --comment "gauntlet:${proxyId}" -j REDIRECT ` +
          `--to-ports 45000`,
      },
    ],
    chains: [IN, OUT],
  }

  it.each<[string, string | undefined, GauntletMarks]>([
    ['every mark when no id is given', undefined, all],
    [
      'the partition: its rule and both its chains',
      partitionId,
      { qdiscs: ['eth0'], rules: [all.rules[0]!], chains: [IN, OUT] },
    ],
    ['the proxy delay: its nat rule, no chains', proxyId, { qdiscs: ['eth0'], rules: [all.rules[1]!], chains: [] }],
    ['an unknown fault: rules and chains empty', 'adhoc-0badf00d', { qdiscs: ['eth0'], rules: [], chains: [] }],
  ])('%s', (_name, id, expected) => {
    expect(marksOf(all, id)).toEqual(expected)
  })

  it.each<[string, GauntletMarks, boolean, boolean]>([
    ['nothing at all', { qdiscs: [], rules: [], chains: [] }, true, true],
    ['only our qdisc', { qdiscs: ['eth0'], rules: [], chains: [] }, false, true],
    ['a rule', { qdiscs: [], rules: [{ table: 'nat', rule: '-A PREROUTING -j X' }], chains: [] }, false, false],
    ['a chain', { qdiscs: [], rules: [], chains: [IN] }, false, false],
  ])('isClean: %s', (_name, marks, withQdiscs, withoutQdiscs) => {
    expect(isClean(marks)).toBe(withQdiscs)
    expect(isClean(marks, true)).toBe(withQdiscs)
    expect(isClean(marks, false)).toBe(withoutQdiscs)
  })
})

describe('removeMarks', () => {
  it(`deletes each rule by its own text in its table, flushes and deletes each chain, \
then deletes our root qdiscs`, async () => {
    const netns = scriptedNetns({})
    const marks = await readMarks(scriptedNetns(reads(tcShow, filterS, natS)), 9)
    await removeMarks(netns, 9, marks, true)
    expect(netns.log.map((l) => l.replace(/^9: /, ''))).toEqual([
      `iptables -w -t filter -D INPUT -m time --datestop 2030-01-02T03:04:06 -m comment --comment ` +
        `gauntlet:${partitionId} -j ${IN}`,
      `iptables -w -t filter -D OUTPUT -m time --datestop 2030-01-02T03:04:06 -m comment --comment ` +
        `gauntlet:${partitionId} -j ${OUT}`,
      `iptables -w -t nat -D PREROUTING -p tcp -m tcp --dport 8080 -m time --datestop 2030-01-02T03:04:06 -m ` +
        `comment --comment gauntlet:${proxyId} -j REDIRECT --to-ports 45000`,
      `iptables -w -F ${IN}`,
      `iptables -w -X ${IN}`,
      `iptables -w -F ${OUT}`,
      `iptables -w -X ${OUT}`,
      'tc qdisc del dev eth0 root handle 7a47:',
    ])
  })

  it("the delete argv is the rule's own argv: no empty or quoted arguments", async () => {
    const commands: Command[] = []
    const netns: Netns = {
      run: (_pid, command) => {
        commands.push(command)
        return Promise.resolve({ code: 0, stdout: '', stderr: '' })
      },
    }
    await removeMarks(
      netns,
      1,
      {
        qdiscs: [],
        rules: [{ table: 'filter', rule: `-A INPUT -m comment --comment "gauntlet:${partitionId}" -j ${IN}` }],
        chains: [],
      },
      false,
    )
    expect(commands).toEqual([
      [
        'iptables',
        '-w',
        '-t',
        'filter',
        '-D',
        'INPUT',
        '-m',
        'comment',
        '--comment',
        `gauntlet:${partitionId}`,
        '-j',
        IN,
      ],
    ])
  })

  it('leaves qdiscs alone when asked to (a restarted container, an iptables-only fault)', async () => {
    const netns = scriptedNetns({})
    await removeMarks(netns, 9, { qdiscs: ['eth0', 'eth1'], rules: [], chains: [IN] }, false)
    expect(netns.log).toEqual([`9: iptables -w -F ${IN}`, `9: iptables -w -X ${IN}`])
  })

  it('deletes our qdisc by our handle on every interface that has one', async () => {
    const netns = scriptedNetns({})
    await removeMarks(netns, 9, { qdiscs: ['eth0', 'eth1'], rules: [], chains: [] }, true)
    expect(netns.log).toEqual([
      '9: tc qdisc del dev eth0 root handle 7a47:',
      '9: tc qdisc del dev eth1 root handle 7a47:',
    ])
  })

  it('a delete that fails (already gone) does not stop the others', async () => {
    const netns = scriptedNetns({
      [`iptables -w -F ${IN}`]: { code: 1, stdout: '', stderr: 'iptables: No chain/target/match by that name.' },
    })
    await removeMarks(netns, 9, { qdiscs: ['eth0'], rules: [], chains: [IN, OUT] }, true)
    expect(netns.log).toHaveLength(5)
  })
})

describe('interfaceOf', () => {
  const twoNetworks = [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '25: eth0    inet 172.18.0.20/16 brd 172.18.255.255 scope global eth0\\       valid_lft forever ' +
      'preferred_lft forever',
    '27: eth1    inet 172.19.0.2/16 brd 172.19.255.255 scope global eth1\\       valid_lft forever ' +
      'preferred_lft forever',
    '',
  ].join('\n')
  const veth = [
    '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
    '12: eth0@if13    inet 10.200.0.2/24 scope global eth0\\       valid_lft forever preferred_lft forever',
    '14: veth-gnt7@if15    inet 10.201.0.2/24 scope global veth-gnt7\\       valid_lft forever preferred_lft forever',
    '16: eth0.100@eth0    inet 10.202.0.2/24 scope global eth0.100\\       valid_lft forever preferred_lft forever',
    '',
  ].join('\n')

  it.each([
    ["the second network's address is on eth1", twoNetworks, '172.19.0.2', 'eth1'],
    ["the first network's address is on eth0", twoNetworks, '172.18.0.20', 'eth0'],
    ['loopback', twoNetworks, '127.0.0.1', 'lo'],
    ['a veth name loses its @ifN suffix', veth, '10.201.0.2', 'veth-gnt7'],
    ['eth0@if13 is eth0', veth, '10.200.0.2', 'eth0'],
    ['a VLAN interface loses its @parent suffix', veth, '10.202.0.2', 'eth0.100'],
  ])('%s', async (_name, output, ip, expected) => {
    const netns = scriptedNetns({ 'ip -o -4 addr show': output })
    expect(await interfaceOf(netns, 3, ip)).toBe(expected)
    expect(netns.log).toEqual(['3: ip -o -4 addr show'])
  })

  it.each([
    ['a prefix of a longer address is not a match (172.18.0.2 vs 172.18.0.20)', '172.18.0.2'],
    ['an address nobody carries', '192.168.1.1'],
    ['no address at all (network mode none)', ''],
  ])('%s: an error naming the address', async (_name, ip) => {
    const netns = scriptedNetns({ 'ip -o -4 addr show': twoNetworks })
    await expect(interfaceOf(netns, 3, ip)).rejects.toThrow(`no interface carries ${ip}`)
  })

  it('a failing `ip` is reported as such', async () => {
    const netns = scriptedNetns({
      'ip -o -4 addr show': { code: 1, stdout: '', stderr: 'Cannot open network namespace: No such file or directory' },
    })
    await expect(interfaceOf(netns, 3, '172.19.0.2')).rejects.toThrow(/`ip -o -4 addr show` failed .*No such file/)
  })
})
