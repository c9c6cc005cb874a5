import type { RunSummary } from '@gauntlet/contracts'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { dockerGate, faultSuite, startHttpdContainer, type HttpdContainer } from '../helpers/docker.js'
import {
  download,
  faultCli,
  helperPids,
  journalEnv,
  journal,
  marksIn,
  namespaceDump,
  noMarks,
  runScenario,
  startCountingServer,
  running,
  spawnGauntlet,
  type GauntletProcess,
  tally,
  waitUntil,
  writeFault,
  writeScenarioDoc,
} from '../helpers/fault-load.js'

/**
 * Faults must not outlive what holds them: a `gauntlet run` killed with -9 mid-fault, a target
 * restarted mid-fault, a target that does not exist, a detached `gauntlet fault apply` left to its
 * dead man's switch, `fault revert` by hand, and two state directories side by side. Every check
 * reads the target's namespace back (readMarks of the built package, tc, iptables-save).
 */

// These tests check the host injector's own machinery (dead man's switches, helper processes, nsenter
// recovery); what holders do about the same failures is in fault-holders.test.ts.
process.env.GAUNTLET_FAULT_INJECTOR = 'host'
const gate = await dockerGate()
const run = randomUUID().slice(0, 8)

/** A line the fault engine prints (stderr) once a fault is in place. */
const appliedLine = /^fault \S+: \w+ \(\w+\) on \S+ until /

/** Nothing of Gauntlet's in tc or iptables-save: no qdisc handle 7a47:, no GNT- chain, no gauntlet: comment. */
async function expectNothingOfOurs(pid: number): Promise<void> {
  expect(await marksIn(pid)).toEqual(noMarks)
  const dump = await namespaceDump(pid)
  expect(dump).not.toMatch(/7a47:|GNT-|gauntlet:/)
}

gate.describe('faults do not outlive their holder (real engine)', () => {
  // Each test's directory (scenario, db, journal, summary), removed after the file.
  const { tempDir } = faultSuite()
  const httpd = (): Promise<HttpdContainer> => startHttpdContainer({ labels: { app: `fault-recovery-${run}` } })
  // Long-running holders: a test that fails early must not leave one loading a container.
  const holders: GauntletProcess[] = []
  const hold = (dir: string, args: string[], env?: NodeJS.ProcessEnv): GauntletProcess => {
    const holder = spawnGauntlet(dir, args, env)
    holders.push(holder)
    return holder
  }
  afterEach(async () => {
    for (const holder of holders.splice(0)) await holder.kill9()
  })

  it(`kill -9 of \`gauntlet run\` mid-fault leaves tbf, proxy and iptables in place; \
\`gauntlet fault list --state-dir\` reverts them all`, async () => {
    const dir = tempDir('gauntlet-kill9-')
    const target = await httpd()
    const long = { target: { container: target.name }, at: '0s', duration: '40s' }
    writeScenarioDoc(dir, {
      name: 'killed',
      target: { url: `${target.url}/index.html`, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '40s' }] },
      faults: [
        { type: 'bandwidth', rate: '8mbit', ...long },
        { type: 'delay', mode: 'proxy', port: 8080, latency: '100ms', ...long },
        // Peers nobody here uses (TEST-NET-1): iptables chains in both directions that cut nothing.
        { type: 'partition', peers: ['192.0.2.1'], ...long },
      ],
    })
    const holder = hold(dir, ['run', join(dir, 'killed.yaml'), '--db', join(dir, 'gauntlet.db'), '--quiet'])
    await holder.lines('stderr', appliedLine, 3)

    const applied = await marksIn(target.pid)
    expect(applied.qdiscs).toEqual(['eth0'])
    expect(applied.chains).toHaveLength(2)
    expect(applied.rules.filter((r) => r.table === 'nat')).toHaveLength(1)
    const helpers = helperPids(dir)
    expect(helpers.deadman).toHaveLength(3)
    expect(helpers.proxy).toHaveLength(1)

    await holder.kill9()
    // The fault outlives its holder: this is what a restart must clean up (its own expiry is 40 s away).
    expect(await marksIn(target.pid)).toEqual(applied)
    expect(helpers.proxy.every((pid) => running(pid, 'latency-proxy-main'))).toBe(true)
    expect(helpers.deadman.every((pid) => running(pid, 'deadman'))).toBe(true)
    const delayed = await download(`${target.url}/index.html`)
    expect(delayed.ms).toBeGreaterThan(90)

    const restart = await faultCli(dir, 'list')
    expect(restart.code, restart.stderr).toBe(0)
    expect(restart.stdout.trim()).toBe('no active faults')
    expect(restart.stderr).toContain(`reverted faults left by a previous process in: ${target.name}`)
    await expectNothingOfOurs(target.pid)
    // The helpers were told to stop (SIGTERM): the proxy deletes its redirect and exits, the switch just exits.
    await waitUntil(
      () =>
        [
          ...helpers.proxy.map((p) => running(p, 'latency-proxy-main')),
          ...helpers.deadman.map((p) => running(p, 'deadman')),
        ].every((alive) => !alive),
      'the proxy and dead man switches to exit',
      5_000,
    )
    const page = await download(`${target.url}/index.html`)
    const big = await download(`${target.url}/big.bin`)
    console.log(
      `kill -9: before recovery GET took ${delayed.ms.toFixed(0)} ms; after, ${page.ms.toFixed(1)} ms, big.bin ` +
        `at ${big.mbitPerS.toFixed(0)} Mbit/s`,
    )
    expect(page.ms).toBeLessThan(50)
    expect(big.mbitPerS).toBeGreaterThan(80)
  })

  it(`kill -9 mid-partition, then the next \`gauntlet run\` on the same journal reverts it before its own \
load`, async () => {
    const dir = tempDir('gauntlet-kill9-run-')
    const target = await httpd()
    const url = `${target.url}/index.html`
    writeScenarioDoc(dir, {
      name: 'cut',
      target: { url, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '40s' }] },
      faults: [{ type: 'partition', target: { container: target.name }, at: '0s', duration: '40s' }],
    })
    const holder = hold(dir, ['run', join(dir, 'cut.yaml'), '--db', join(dir, 'gauntlet.db'), '--quiet'])
    await holder.lines('stderr', appliedLine)
    await holder.kill9()
    expect((await marksIn(target.pid)).chains).toHaveLength(2)
    await expect(fetch(url, { signal: AbortSignal.timeout(500) })).rejects.toThrow()

    // The next run (any faults at all make it recover) loads the same container for 2 s.
    const next = await runScenario(dir, {
      name: 'next',
      target: { url, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '2s' }] },
      faults: [{ type: 'bandwidth', rate: '100mbit', target: { container: target.name }, at: '1s', duration: '1s' }],
    })
    const context = `exit ${next.code}\n${next.stdout}\n${next.stderr}`
    expect(next.code, context).toBe(0)
    expect(next.stderr, context).toContain(`reverted faults left by a previous process in: ${target.name}`)
    console.log(`kill -9 then run: the next run saw ${JSON.stringify(tally(next.windows))}`)
    // Reverted before the first request: not one of them met the partition.
    expect(tally(next.windows)).toMatchObject({ errors: 0, ok: 40 })
    await expectNothingOfOurs(target.pid)
  })

  it(`a target restarted mid-fault: the run finishes, its summary notes the restart, \
and the new namespace has nothing of ours`, async () => {
    const dir = tempDir('gauntlet-restart-')
    const target = await httpd()
    const oldPid = target.pid
    const during = { target: { container: target.name }, at: '1s', duration: '4s' }
    writeScenarioDoc(dir, {
      name: 'restarted',
      target: { url: `${target.url}/index.html`, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '7s' }] },
      faults: [
        { type: 'bandwidth', rate: '8mbit', ...during },
        { type: 'partition', peers: ['192.0.2.1'], ...during },
      ],
    })
    const summaryFile = join(dir, 'summary.json')
    const holder = hold(dir, [
      'run',
      join(dir, 'restarted.yaml'),
      '--db',
      join(dir, 'gauntlet.db'),
      '--summary',
      summaryFile,
      '--quiet',
    ])
    await holder.lines('stderr', appliedLine, 2)
    expect((await marksIn(oldPid)).qdiscs).toEqual(['eth0'])
    await target.restart()
    expect(target.pid).not.toBe(oldPid)
    const { code } = await holder.exited
    const context = `exit ${code}\n${holder.stdout.join('\n')}\n${holder.stderr.join('\n')}`
    expect(context).not.toMatch(/internal error/)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
    // Passed or failed on the target's answers; or, on a loaded machine, an error because sends waiting
    // on connections to the restarting target left late (a generator-limited step, said as such).
    expect([0, 1, 3], context).toContain(code)
    if (code === 3)
      expect(
        summary.steps.map((s) => s.verdict),
        context,
      ).toContain('generator-limited')
    const faults = summary.faults!.map(({ id, notes, revertVerified }) => ({ id, notes, revertVerified }))
    console.log(`restart mid-fault: exit ${code}; faults ${JSON.stringify(faults)}`)
    for (const fault of summary.faults!) {
      expect(fault.error, context).toBeUndefined()
      expect(fault.revertVerified).toBe(true)
      expect(fault.notes).toContain(`${target.name} restarted during the fault: its old network namespace went with it`)
    }
    await expectNothingOfOurs(target.pid)
  })

  it(`a fault on a container that does not exist: a clear error and exit 3 before any load, \
and nothing journaled as applied`, async () => {
    const dir = tempDir('gauntlet-missing-')
    const missing = `gauntlet-test-missing-${run}`
    const counter = await startCountingServer()
    try {
      const result = await runScenario(dir, {
        name: 'missing',
        target: { url: counter.url, timeout: '1s' },
        load: { steps: [{ rps: 20, duration: '2s' }] },
        faults: [{ type: 'partition', target: { container: missing }, duration: '1s' }],
      })
      console.log(`missing container: exit ${result.code}; ${result.summary?.reasons.join('; ')}`)
      expect(result.code, result.stderr).toBe(3)
      expect(result.stdout).toContain(`fault f1-partition: no container "${missing}"`)
      expect(result.stdout).not.toMatch(/internal error/)
      expect(result.summary).toMatchObject({ verdict: 'error', steps: [] })
      expect(result.summary!.faults![0]).toMatchObject({ appliedAt: null, revertedAt: null, targets: [] })
      expect(counter.requests()).toBe(0)
      expect(journal(dir).filter((l) => l.op === 'intent')).toEqual([])
    } finally {
      counter.close()
    }
  })

  it(`a detached \`gauntlet fault apply\` reverts itself on time with no gauntlet process alive: \
tbf by its dead man switch, proxy delay by the proxy`, async () => {
    const dir = tempDir('gauntlet-deadman-')
    const target = await httpd()
    const applyOne = async (doc: Record<string, unknown>): Promise<number> => {
      const result = await faultCli(
        dir,
        'apply',
        // Long enough that the first is still in place when the second (a new CLI process) has applied.
        writeFault(dir, String(doc.type), { ...doc, target: { container: target.name }, duration: '8s' }),
      )
      expect(result.code, result.stderr).toBe(0)
      return Date.parse(/ until (\S+)$/.exec(result.stdout.trim())![1]!)
    }
    const bwUntil = await applyOne({ type: 'bandwidth', rate: '8mbit' })
    const delayUntil = await applyOne({ type: 'delay', mode: 'proxy', port: 8080, latency: '100ms' })
    // Both commands have exited; what remains are the detached helpers.
    const helpers = helperPids(dir)
    expect(helpers.deadman).toHaveLength(2)
    expect(helpers.proxy).toHaveLength(1)
    const applied = await marksIn(target.pid)
    expect(applied.qdiscs).toEqual(['eth0'])
    expect(applied.rules.filter((r) => r.table === 'nat')).toHaveLength(1)
    expect((await download(`${target.url}/index.html`)).ms).toBeGreaterThan(90)

    const redirectGone = await waitUntil(
      async () => (await marksIn(target.pid)).rules.length === 0,
      'the proxy to delete its redirect',
      15_000,
    )
    const qdiscGone = await waitUntil(
      async () => (await marksIn(target.pid)).qdiscs.length === 0,
      'the dead man switch to delete the tbf qdisc',
      15_000,
    )
    console.log(
      `detached faults: redirect gone ${redirectGone - delayUntil} ms after its end, tbf qdisc ` +
        `gone ${qdiscGone - bwUntil} ms after its end`,
    )
    // The proxy ends at the fault's end; the switch fires one second after it (a margin for the owner's
    // own revert). The rest allows for exec and read-back on a busy two-core machine.
    expect(redirectGone - delayUntil).toBeGreaterThanOrEqual(0)
    expect(redirectGone - delayUntil).toBeLessThan(1_000)
    expect(qdiscGone - bwUntil).toBeGreaterThanOrEqual(1_000)
    expect(qdiscGone - bwUntil).toBeLessThan(3_000)
    await waitUntil(
      () =>
        [
          ...helpers.proxy.map((p) => running(p, 'latency-proxy-main')),
          ...helpers.deadman.map((p) => running(p, 'deadman')),
        ].every((alive) => !alive),
      'the helpers to exit',
      5_000,
    )
    await expectNothingOfOurs(target.pid)
    expect((await download(`${target.url}/index.html`)).ms).toBeLessThan(50)

    const list = await faultCli(dir, 'list')
    expect(list.stdout.trim()).toBe('no active faults')
    // Nothing was left for a recovery to clean.
    expect(list.stderr).not.toMatch(/reverted faults left by a previous process/)
  })

  it(`\`gauntlet fault revert <id>\` ends a detached fault early, stops its dead man switch, \
and \`fault list\` no longer shows it`, async () => {
    const dir = tempDir('gauntlet-revert-')
    const target = await httpd()
    const applied = await faultCli(
      dir,
      'apply',
      writeFault(dir, 'bw', { type: 'bandwidth', rate: '8mbit', target: { container: target.name }, duration: '60s' }),
    )
    expect(applied.code, applied.stderr).toBe(0)
    const id = applied.stdout.split(/\s+/)[0]!
    const listed = await faultCli(dir, 'list')
    expect(listed.stdout).toContain(`${id}  bandwidth via tbf on ${target.name}  until `)
    const [deadman] = helperPids(dir).deadman
    expect(running(deadman!, 'deadman')).toBe(true)

    const reverted = await faultCli(dir, 'revert', id)
    expect(reverted.code, reverted.stderr).toBe(0)
    expect(reverted.stdout).toMatch(
      new RegExp(`^${id}  bandwidth via tbf on ${target.name}  reverted \\S+, read back clean$`, 'm'),
    )
    await expectNothingOfOurs(target.pid)
    await waitUntil(() => !running(deadman!, 'deadman'), 'the dead man switch to exit', 2_000)
    expect((await faultCli(dir, 'list')).stdout.trim()).toBe('no active faults')
    const again = await faultCli(dir, 'revert', id)
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(new RegExp(`no active fault ${id}`))
  })

  it(`two runs from different directories (different --db) on one host: \
the second one's recovery leaves the first one's live fault alone`, async () => {
    // One host, so one host journal for both (what GAUNTLET_FAULT_JOURNAL names; the default is per host too).
    const host = tempDir('gauntlet-host-')
    const [dirA, dirB] = [tempDir('gauntlet-run-a-'), tempDir('gauntlet-run-b-')]
    const [x, y] = await Promise.all([httpd(), httpd()])
    writeScenarioDoc(dirA, {
      name: 'first',
      target: { url: `${x.url}/index.html`, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '30s' }] },
      faults: [{ type: 'bandwidth', rate: '8mbit', target: { container: x.name }, at: '0s', duration: '30s' }],
    })
    const first = hold(
      dirA,
      ['run', join(dirA, 'first.yaml'), '--db', join(dirA, 'gauntlet.db'), '--quiet'],
      journalEnv(host),
    )
    await first.lines('stderr', appliedLine)
    try {
      const second = await runScenario(
        dirB,
        {
          name: 'second',
          target: { url: `${y.url}/index.html`, timeout: '1s' },
          load: { steps: [{ rps: 20, duration: '2s' }] },
          faults: [{ type: 'bandwidth', rate: '100mbit', target: { container: y.name }, at: '1s', duration: '1s' }],
        },
        journalEnv(host),
      )
      expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0)
      const left = await marksIn(x.pid)
      console.log(
        `two runs: after the second run, the first run's fault shows ${JSON.stringify(left)}; second run ` +
          `stderr: ${second.stderr.trim().split('\n').join(' | ')}`,
      )
      expect(second.stderr).not.toMatch(/reverted faults left by a previous process/)
      expect(left.qdiscs, "the first run's live bandwidth fault was removed by the second run's recovery").toEqual([
        'eth0',
      ])
    } finally {
      // A stopped run reverts what it applied before it exits.
      first.child.kill('SIGTERM')
      const { code } = await first.exited
      expect(code).toBe(3)
    }
    await expectNothingOfOurs(x.pid)
  })
})
