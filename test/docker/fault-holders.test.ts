import { localFaultEngine, holderLabels, type LocalFaultEngine } from '@gauntlet/faults'
import type { FaultSpec } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { openSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { afterEach, beforeAll, expect, it } from 'vitest'
import { gauntletBin } from '../helpers/cli.js'
import { dockerClient, dockerGate, faultSuite, startHttpdContainer, type HttpdContainer } from '../helpers/docker.js'
import {
  containerAllow,
  journal,
  journalEnv,
  marksIn,
  namespaceDump,
  noMarks,
  waitUntil,
  writeScenarioDoc,
} from '../helpers/fault-load.js'

/**
 * Holder containers on a real engine: a holder applies tbf, partition and proxy delay in its target's
 * namespace and reverts clean on its own timer and on SIGTERM; a holder killed with `docker kill` is
 * cleaned by the next reconcile within 10 s; and kill -9 of the whole process group of `gauntlet run`
 * leaves nothing: the fault is gone within 2 s of its planned end and no Gauntlet process is alive.
 * The image: GAUNTLET_HOLDER_IMAGE, else gauntlet:local.
 */

const gate = await dockerGate()
const run = randomUUID().slice(0, 8)
const image = process.env.GAUNTLET_HOLDER_IMAGE || 'gauntlet:local'
const holderEnv = { GAUNTLET_HOLDER_IMAGE: image, GAUNTLET_FAULT_INJECTOR: 'holder' }

/** A fault spec as the loader makes it (already decided: no `auto`). */
function spec(fault: Partial<FaultSpec> & Pick<FaultSpec, 'type' | 'mechanism'>, target: HttpdContainer): FaultSpec {
  return {
    id: `h-${randomUUID().slice(0, 8)}`,
    target: { container: target.name },
    durationMs: 3_000,
    ...fault,
  }
}

/** Holders of a fault the engine still has (running, or with `all` also exited and not yet removed). */
async function holdersOf(id: string, all = true): Promise<string[]> {
  const listed = await dockerClient().listContainers({ all, filters: { label: [`${holderLabels.fault}=${id}`] } })
  return listed.map((c) => c.Id)
}

/** Polls until the target's namespace shows nothing of ours; returns when (epoch ms). */
function marksGone(pid: number, what: string, timeoutMs: number): Promise<number> {
  return waitUntil(
    async () => {
      const marks = await marksIn(pid)
      return marks.qdiscs.length === 0 && marks.rules.length === 0 && marks.chains.length === 0
    },
    what,
    timeoutMs,
    25,
  )
}

gate.describe('fault holders (real engine)', () => {
  const { tempDir } = faultSuite()
  const httpd = (): Promise<HttpdContainer> => startHttpdContainer({ labels: { app: `fault-holders-${run}` } })
  const engines: LocalFaultEngine[] = []
  const engine = (dir: string, reconcile = false, isRunLive?: (run: string) => boolean): LocalFaultEngine => {
    const made = localFaultEngine({
      injector: 'holder',
      holderImage: image,
      journalFile: join(dir, 'faults.jsonl'),
      reconcile,
      ...(isRunLive ? { isRunLive } : {}),
    })
    engines.push(made)
    return made
  }

  beforeAll(async () => {
    try {
      await dockerClient().getImage(image).inspect()
    } catch {
      throw new Error(
        `the holder image ${image} is not on the engine: build it (npm run image, or a dev image, see ` +
          `docs/faults.md) or set GAUNTLET_HOLDER_IMAGE`,
      )
    }
  })
  afterEach(async () => {
    for (const e of engines.splice(0)) {
      await e.revertAll('test ended').catch(() => undefined)
      await e.stop()
    }
  })

  it('tbf and partition: applied by a holder, reverted clean by its own timer (figures: planned end -> marks gone)', async () => {
    const target = await httpd()
    const faults = engine(tempDir('gauntlet-holder-timer-'))
    for (const fault of [
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 8_000_000 }, target),
      spec({ type: 'partition', mechanism: 'iptables' }, target),
    ]) {
      const prepared = await faults.prepare(fault)
      const until = Date.now() + 3_000
      // Detached: this engine lets go of it; only the holder's own timer reverts it.
      const report = await faults.apply(prepared, until, { detached: true })
      expect(report).toMatchObject({ injector: 'holder', mechanism: fault.mechanism })
      const marks = await marksIn(target.pid)
      if (fault.type === 'bandwidth') expect(marks.qdiscs).toEqual(['eth0'])
      else {
        expect(marks.chains).toHaveLength(2)
        // The partition really cuts: a request times out.
        await expect(fetch(`${target.url}/index.html`, { signal: AbortSignal.timeout(500) })).rejects.toThrow()
      }
      const gone = await marksGone(target.pid, `${fault.type} to be reverted by its holder`, 10_000)
      console.log(`holder timer revert, ${fault.type}: marks gone ${gone - until} ms after the planned end`)
      expect(gone - until).toBeLessThan(2_000)
      await waitUntil(async () => (await holdersOf(fault.id)).length === 0, 'the holder to exit and be removed', 5_000)
      expect(await namespaceDump(target.pid)).not.toMatch(/7a47:|GNT-|gauntlet:/)
    }
  })

  it('proxy delay: requests pay the latency while held; SIGTERM drains with the beforeDrain handshake and reverts clean', async () => {
    const target = await httpd()
    const faults = engine(tempDir('gauntlet-holder-proxy-'))
    const fault = await faults.prepare(
      spec({ type: 'delay', mechanism: 'proxy', port: 8080, latencyMs: 200, durationMs: 30_000 }, target),
    )
    const report = await faults.apply(fault, Date.now() + 30_000)
    expect(report.injector).toBe('holder')
    expect((await marksIn(target.pid)).rules).toHaveLength(1)
    const started = performance.now()
    await (await fetch(`${target.url}/index.html`)).text()
    const delayedMs = performance.now() - started
    let drains = 0
    const reverted = await faults.revert(fault.id, 'test', { beforeDrain: () => void drains++ })
    console.log(
      `holder proxy delay 200 ms: a request took ${delayedMs.toFixed(0)} ms; revert notes ${reverted.notes.join('; ')}`,
    )
    expect(delayedMs).toBeGreaterThanOrEqual(200)
    expect(drains).toBe(1)
    expect(reverted).toMatchObject({ revertVerified: true, injector: 'holder' })
    expect(await marksIn(target.pid)).toEqual(noMarks)
    const after = performance.now()
    await (await fetch(`${target.url}/index.html`)).text()
    expect(performance.now() - after).toBeLessThan(150)
  })

  it('tbf: SIGTERM (revert) ends it at once and reads back clean', async () => {
    const target = await httpd()
    const faults = engine(tempDir('gauntlet-holder-sigterm-'))
    const fault = await faults.prepare(
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1_000_000, durationMs: 60_000 }, target),
    )
    await faults.apply(fault, Date.now() + 60_000)
    expect((await marksIn(target.pid)).qdiscs).toEqual(['eth0'])
    const started = performance.now()
    const reverted = await faults.revert(fault.id, 'test')
    console.log(`holder SIGTERM revert, tbf: ${(performance.now() - started).toFixed(0)} ms to a verified revert`)
    expect(reverted.revertVerified).toBe(true)
    expect(await marksIn(target.pid)).toEqual(noMarks)
  })

  it('docker kill of a holder mid-fault: the next reconcile removes its marks within 10 s', async () => {
    const target = await httpd()
    const dir = tempDir('gauntlet-holder-kill-')
    const faults = engine(dir, true)
    for (const fault of [
      spec({ type: 'partition', mechanism: 'iptables', durationMs: 60_000 }, target),
      spec({ type: 'bandwidth', mechanism: 'tbf', rateBitsPerS: 1_000_000, durationMs: 60_000 }, target),
    ]) {
      await faults.apply(await faults.prepare(fault), Date.now() + 60_000)
      const [holder] = await holdersOf(fault.id)
      expect(holder).toBeDefined()
      expect(await marksIn(target.pid)).not.toEqual(noMarks)
      const killedAt = Date.now()
      await dockerClient().getContainer(holder!).kill({ signal: 'SIGKILL' })
      const gone = await marksGone(target.pid, `the reconcile to clean after the killed ${fault.type} holder`, 10_000)
      console.log(`docker kill of a ${fault.type} holder: marks gone ${gone - killedAt} ms after the kill`)
      expect(gone - killedAt).toBeLessThanOrEqual(10_000)
      const reverted = await faults.revert(fault.id, 'test')
      expect(reverted.revertVerified).toBe(true)
      expect(journal(dir).some((l) => l.op === 'reverted' && l.id === fault.id)).toBe(true)
    }
  })

  it('a holder of a run that is over is stopped by the reconcile (it reverts on SIGTERM)', async () => {
    const target = await httpd()
    const over = new Set<string>()
    const faults = engine(tempDir('gauntlet-holder-runover-'), true, (run) => !over.has(run))
    const fault = spec({ type: 'partition', mechanism: 'iptables', durationMs: 60_000 }, target)
    await faults.apply(await faults.prepare(fault), Date.now() + 60_000, { run: 'run-over' })
    expect((await marksIn(target.pid)).chains).toHaveLength(2)
    const endedAt = Date.now()
    over.add('run-over')
    const gone = await marksGone(target.pid, 'the reconcile to stop the holder of a run that is over', 10_000)
    console.log(`holder of a run that is over: marks gone ${gone - endedAt} ms after the run ended`)
    expect((await faults.revert(fault.id, 'test')).revertVerified).toBe(true)
  })

  it(`kill -9 of the whole process group of \`gauntlet run\` mid-fault: the fault is gone within 2 s of its \
planned end and no Gauntlet process is alive`, async () => {
    const target = await httpd()
    const dir = tempDir('gauntlet-holder-kill9-')
    const file = writeScenarioDoc(dir, {
      name: 'killed',
      target: { url: `${target.url}/index.html`, timeout: '1s' },
      load: { steps: [{ rps: 20, duration: '30s' }] },
      faults: [
        { type: 'bandwidth', rate: '1mbit', target: { container: target.name }, at: '1s', duration: '6s' },
        { type: 'partition', peers: ['192.0.2.1'], target: { container: target.name }, at: '1s', duration: '6s' },
      ],
    })
    const child = spawn(process.execPath, [gauntletBin, 'run', file, '--db', join(dir, 'gauntlet.db'), '--quiet'], {
      cwd: dir,
      env: { ...process.env, ...containerAllow, ...journalEnv(dir), ...holderEnv },
      stdio: ['ignore', 'ignore', openSync(join(dir, 'stderr.log'), 'w')],
      // Its own process group: the kill takes the whole tree, as a stopped container or cgroup would.
      detached: true,
    })
    const group = child.pid!
    try {
      await waitUntil(
        async () => {
          const marks = await marksIn(target.pid)
          // A partition in both directions is two chains of ours (IN and OUT).
          return marks.qdiscs.length === 1 && marks.chains.length === 2
        },
        'both faults to be applied',
        // Under the test's own limit, so a run that never applies them is killed and its words shown.
        45_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; gauntlet run said: ${readFileSync(join(dir, 'stderr.log'), 'utf8')}`)
      })
      process.kill(-group, 'SIGKILL')
    } catch (error) {
      // The run may have ended by itself (then its stderr, in the error, says why).
      if (processesInGroup(group).length > 0) process.kill(-group, 'SIGKILL')
      throw error
    }
    const intents = journal(dir).filter((l) => l.op === 'intent') as unknown as Array<{
      id: string
      untilEpochMs: number
    }>
    expect(intents).toHaveLength(2)
    const plannedEnd = Math.max(...intents.map((i) => i.untilEpochMs))
    const gone = await marksGone(
      target.pid,
      'the faults to be reverted by their holders',
      plannedEnd - Date.now() + 5_000,
    )
    await waitUntil(
      async () => (await Promise.all(intents.map((i) => holdersOf(i.id, false)))).flat().length === 0,
      'every holder to exit',
      plannedEnd - Date.now() + 5_000,
    )
    const settled = Date.now()
    console.log(
      `kill -9 of gauntlet run's process group: marks gone ${gone - plannedEnd} ms after the planned end, ` +
        `holder processes gone ${settled - plannedEnd} ms after it`,
    )
    expect(gone - plannedEnd).toBeLessThanOrEqual(2_000)
    expect(settled - plannedEnd).toBeLessThanOrEqual(2_000)
    expect(processesInGroup(group)).toEqual([])
    expect(await namespaceDump(target.pid)).not.toMatch(/7a47:|GNT-|gauntlet:/)
  }, 90_000)
})

/** Pids still alive in a process group (from /proc: field 5 of stat is the group). */
function processesInGroup(group: number): number[] {
  const alive: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === group && fields[0] !== 'Z') alive.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return alive
}
