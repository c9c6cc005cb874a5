import type { FaultSpec } from '@gauntlet/contracts'
import { FaultJournal, HolderInjector, Reconciler, type JournalEntry } from '@gauntlet/faults'
import type Docker from 'dockerode'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'

type Intent = Extract<JournalEntry, { op: 'intent' }>

const spec = (id: string): FaultSpec => ({
  id,
  type: 'loss',
  mechanism: 'iptables',
  target: { container: 'api' },
  durationMs: 60_000,
})

function intent(id: string, holderOwner: string | undefined, injector: 'holder' | undefined = 'holder'): Intent {
  return {
    op: 'intent',
    id,
    spec: spec(id),
    targets: [{ containerId: `c-${id}`, name: `api-${id}`, pid: 0, iface: '' }],
    untilEpochMs: Date.now() + 60_000,
    at: Date.now() - 120_000,
    owner: { pid: 2147483646, detached: false },
    ...(injector ? { injector } : {}),
    ...(holderOwner !== undefined ? { holderOwner } : {}),
  }
}

/**
 * An engine with no holders at all, whose targets are gone (a cleaner then has nothing to do: the
 * namespace went with the container). It records which targets were looked at, i.e. cleaned.
 */
function emptyEngine(): { docker: Docker; inspected: string[] } {
  const inspected: string[] = []
  const docker = {
    listContainers: () => Promise.resolve([]),
    getContainer: (id: string) => ({
      inspect: () => {
        inspected.push(id)
        return Promise.reject(new Error('no such container'))
      },
      kill: () => Promise.resolve(),
    }),
  } as unknown as Docker
  return { docker, inspected }
}

describe('holder reconcile on a shared journal', () => {
  it("cleans only its own owner's faults: another owner's and the host injector's stay open", async () => {
    const journal = new FaultJournal(join(tempDir(), 'faults.jsonl'))
    journal.append(intent('mine', 'me'))
    journal.append(intent('theirs', 'them'))
    journal.append(intent('legacy', undefined))
    journal.append(intent('host', undefined, undefined))
    const { docker, inspected } = emptyEngine()
    await new Reconciler({ docker, journal, image: 'i', owner: 'me' }).once()
    expect(inspected).toEqual(['c-mine'])
    expect(
      journal
        .unreverted()
        .map((i) => i.id)
        .sort(),
    ).toEqual(['host', 'legacy', 'theirs'])
  })

  it('retries a target whose read-back failed, and journals the fault reverted only once it reads back clean', async () => {
    const journal = new FaultJournal(join(tempDir(), 'faults.jsonl'))
    journal.append(intent('f', 'me'))
    journal.append({ op: 'settled', id: 'f', containerId: 'c-f', verified: false, at: Date.now() })
    const { docker, inspected } = emptyEngine()
    const reports: boolean[] = []
    await new Reconciler({
      docker,
      journal,
      image: 'i',
      owner: 'me',
      settled: (_, report) => reports.push(report.revertVerified),
    }).once()
    expect(inspected).toEqual(['c-f'])
    expect(reports).toEqual([true])
    expect(journal.unreverted()).toEqual([])
  })
})

describe('holder injector adopting a fault', () => {
  it('cleans a journaled target whose holder is gone instead of reporting it verified unseen', async () => {
    const journal = new FaultJournal(join(tempDir(), 'faults.jsonl'))
    journal.append(intent('f', 'me'))
    journal.append(intent('g', 'them'))
    const { docker, inspected } = emptyEngine()
    const injector = new HolderInjector({
      docker,
      journal,
      image: 'i',
      owner: 'me',
      containers: {} as never,
    })
    const report = await injector.revert('f', 'asked')
    expect(inspected).toEqual(['c-f'])
    expect(report.notes.join(' ')).toMatch(/api-f: gone: its namespace went with it/)
    expect(report.revertVerified).toBe(true)
    // Another owner's fault is not adopted from the shared journal.
    await expect(injector.revert('g', 'asked')).rejects.toThrow(/no active fault g/)
    expect(journal.unreverted().map((i) => i.id)).toEqual(['g'])
  })
})

describe('holder reconcile stopping overdue holders', () => {
  it("stops a warm holder by its fault's journaled end, not by its label's standby limit", async () => {
    const journal = new FaultJournal(join(tempDir(), 'faults.jsonl'))
    journal.append({ ...intent('f', 'me'), untilEpochMs: Date.now() - 10_000 })
    const killed: string[] = []
    const holder = (id: string, fault: string) => ({
      Id: id,
      State: 'running',
      Labels: {
        'gauntlet.fault': fault,
        'gauntlet.target': `c-${fault}`,
        'gauntlet.owner': 'me',
        'gauntlet.role': 'hold',
        'gauntlet.until': String(Date.now() + 15 * 60_000),
      },
    })
    const docker = {
      listContainers: () => Promise.resolve([holder('h-f', 'f'), holder('h-warm', 'not-applied-yet')]),
      getContainer: (id: string) => ({
        kill: ({ signal }: { signal: string }) => {
          killed.push(`${id} ${signal}`)
          return Promise.resolve()
        },
      }),
    } as unknown as Docker
    await new Reconciler({ docker, journal, image: 'i', owner: 'me', graceMs: 0 }).once()
    expect(killed).toEqual(['h-f SIGTERM'])
  })
})

describe('holder injector target cap', () => {
  it('refuses a fault on more than 50 containers before any holder starts (prepare and apply)', async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({
      id: `c${i}`,
      name: `api-${i}`,
      pid: 0,
      ip: '10.0.0.2',
      labels: {},
    }))
    let created = 0
    const docker = {
      createContainer: () => {
        created++
        return Promise.reject(new Error('not in this test'))
      },
    } as unknown as Docker
    const injector = new HolderInjector({
      docker,
      journal: new FaultJournal(join(tempDir(), 'faults.jsonl')),
      image: 'i',
      owner: 'me',
      containers: { resolve: () => Promise.resolve(many) } as never,
    })
    const all = { netem: true, tbf: true, htb: true, errors: {} }
    const iptables = { statistic: true, reject: true, redirect: true, time: true, comment: true }
    ;(injector as unknown as { support: Promise<unknown> }).support = Promise.resolve({ ...all, iptables })
    await expect(injector.prepare(spec('f'))).rejects.toThrow(/targets 51 containers; a fault may hold at most 50/)
    await expect(injector.apply(spec('f'))).rejects.toThrow(/targets 51 containers; a fault may hold at most 50/)
    expect(created).toBe(0)
    // A placement check starts no warm holder; a run's own prepare does (here it fails, and is not fatal).
    const few = many.slice(0, 2)
    ;(injector as unknown as { deps: { containers: unknown } }).deps.containers = {
      resolve: () => Promise.resolve(few),
    }
    expect((await injector.prepare(spec('g'), { warm: false })).id).toBe('g')
    expect(created).toBe(0)
    await injector.prepare(spec('g'))
    expect(created).toBe(1)
  })
})
