import { GauntletError, type FaultTarget } from '@gauntlet/contracts'
import Docker from 'dockerode'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chooseTargets, DockerTargets, targetSelector } from '../../packages/faults/src/docker-targets.js'
import {
  bigFileBytes,
  dockerClient,
  dockerGate,
  ensureBusyboxImage,
  removeTestContainers,
  startHttpdContainer,
  testLabels,
  type HttpdContainer,
} from '../helpers/docker.js'

/**
 * Resolving fault targets to containers: the pure choosing, then a real engine (skipped loudly without one, failing
 * under CI).
 */

const gate = await dockerGate()

/** A `random` that returns these values in turn. */
const sequence = (...values: number[]) => {
  let i = 0
  return () => values[i++ % values.length]!
}

async function rejection(promise: Promise<unknown>): Promise<GauntletError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GauntletError)
  return error as GauntletError
}

describe('chooseTargets', () => {
  const five = ['a', 'b', 'c', 'd', 'e']
  it.each([
    { name: 'all takes every candidate', mode: 'all', percent: undefined, random: sequence(0.5), expected: five },
    { name: 'one at random 0', mode: 'one', percent: undefined, random: sequence(0), expected: ['a'] },
    { name: 'one at random 0.5', mode: 'one', percent: undefined, random: sequence(0.5), expected: ['c'] },
    { name: 'one at random 0.99', mode: 'one', percent: undefined, random: sequence(0.99), expected: ['e'] },
    // A random() of exactly 1 (outside its contract) still picks a candidate.
    { name: 'one at random 1', mode: 'one', percent: undefined, random: sequence(1), expected: ['e'] },
    // ceil(5·40/100) = 2. Draw 0.99 swaps e into slot 0; draw 0 keeps b in slot 1; picks keep candidate order.
    { name: 'percent 40 of 5 is 2', mode: 'percent', percent: 40, random: sequence(0.99, 0), expected: ['b', 'e'] },
    { name: 'percent 1 of 5 is still 1', mode: 'percent', percent: 1, random: sequence(0.2), expected: ['b'] },
    { name: 'percent 100 takes every candidate', mode: 'percent', percent: 100, random: sequence(0.3), expected: five },
  ] as const)('$name', ({ mode, percent, random, expected }) => {
    expect(chooseTargets(five, mode, percent, random)).toEqual(expected)
  })

  it('never picks one candidate twice', () => {
    for (let run = 0; run < 200; run++) {
      const picked = chooseTargets(five, 'percent', 60, Math.random)
      expect(picked).toHaveLength(3)
      expect(new Set(picked).size).toBe(3)
    }
  })

  it('gives nothing from nothing, and needs a percent for mode percent', () => {
    expect(chooseTargets([], 'all', undefined, Math.random)).toEqual([])
    expect(chooseTargets([], 'one', undefined, Math.random)).toEqual([])
    expect(() => chooseTargets(five, 'percent', undefined, Math.random)).toThrow(/needs "percent"/)
    expect(() => chooseTargets(five, 'percent', 0, Math.random)).toThrow(/needs "percent"/)
  })
})

describe('targetSelector', () => {
  it.each([
    [{ container: 'orders' }, { kind: 'container', value: 'orders' }],
    [{ label: 'app=orders' }, { kind: 'label', value: 'app=orders' }],
    [
      { service: 'orders', mode: 'one' },
      { kind: 'service', value: 'orders' },
    ],
  ] as Array<[FaultTarget, unknown]>)('%j', (target, expected) => {
    expect(targetSelector(target)).toEqual(expected)
  })

  it.each([
    [{}, /exactly one of "container", "label" or "service"; none was given/],
    [{ container: 'a', label: 'app=b' }, /got container and label/],
    [{ container: 'a', label: 'app=b', service: 'c' }, /got container and label and service/],
    [{ label: 'app' }, /label "app": expected a Docker label key=value/],
    [{ container: '../images/x' }, /container "..\/images\/x": expected a Docker container name/],
  ] as Array<[FaultTarget, RegExp]>)('refuses %j', (target, message) => {
    let error: unknown
    try {
      targetSelector(target)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GauntletError)
    expect((error as GauntletError).code).toBe('usage')
    expect((error as GauntletError).message).toMatch(message)
  })
})

describe('DockerTargets without an engine', () => {
  const targets = new DockerTargets(new Docker({ socketPath: '/nonexistent/docker.sock' }))

  it('says which socket did not answer', async () => {
    const error = await rejection(targets.resolve({ label: 'app=orders' }))
    expect(error.code).toBe('target_unreachable')
    expect(error.message).toMatch(/^Docker engine not reachable at \/nonexistent\/docker\.sock: .*ENOENT/)
    expect((await rejection(targets.inspect('orders'))).code).toBe('target_unreachable')
  })

  it('gives up on an engine that accepts but never answers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gauntlet-silent-'))
    const socketPath = join(dir, 'docker.sock')
    const held = new Set<import('node:net').Socket>()
    const silent = createServer((socket) => void held.add(socket))
    silent.listen(socketPath)
    await once(silent, 'listening')
    try {
      const error = await rejection(
        new DockerTargets(new Docker({ socketPath }), { timeoutMs: 200 }).resolve({ container: 'orders' }),
      )
      expect([error.code, error.message]).toEqual([
        'target_unreachable',
        `Docker engine not reachable at ${socketPath}: no answer within 0.2 s`,
      ])
    } finally {
      silent.close()
      for (const socket of held) socket.destroy()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a bad target before asking the engine', async () => {
    expect((await rejection(targets.resolve({ container: 'a', service: 'b' }))).code).toBe('usage')
    expect((await rejection(targets.resolve({ label: 'app=orders', mode: 'percent' }))).message).toMatch(
      /needs "percent"/,
    )
    expect((await rejection(targets.resolve({ label: 'app=orders', mode: 'one', percent: 50 }))).message).toMatch(
      /only with mode: percent/,
    )
  })
})

gate.describe('DockerTargets on a real engine', () => {
  // Unique per run, so that a concurrent run's containers never match these selectors.
  const run = randomUUID().slice(0, 8)
  const app = `orders-${run}`
  const service = `payments-${run}`
  const targets = new DockerTargets()
  let a: HttpdContainer
  let b: HttpdContainer
  let svc: HttpdContainer

  beforeAll(async () => {
    await ensureBusyboxImage()
    ;[a, b, svc] = await Promise.all([
      startHttpdContainer({ name: `gauntlet-test-${app}-a`, labels: { app } }),
      startHttpdContainer({ name: `gauntlet-test-${app}-b`, labels: { app } }),
      startHttpdContainer({
        labels: { 'com.docker.compose.service': service, 'com.docker.compose.project': `gauntlet-test-${run}` },
      }),
    ])
  }, 120_000)
  afterAll(() => removeTestContainers())

  it('resolves a container by name', async () => {
    const [found, ...rest] = await targets.resolve({ container: a.name })
    expect(rest).toEqual([])
    expect(found).toEqual({
      id: a.id,
      name: a.name,
      pid: a.pid,
      ip: a.ip,
      labels: expect.objectContaining({ app, 'gauntlet-test': '1' }) as Record<string, string>,
    })
  })

  it('lists every running container for recovery', async () => {
    const running = await targets.running()
    expect(
      running
        .filter((c) => [a.id, b.id, svc.id].includes(c.id))
        .map((c) => c.id)
        .sort(),
    ).toEqual([a.id, b.id, svc.id].sort())
    expect(running.find((c) => c.id === a.id)).toEqual((await targets.resolve({ container: a.id }))[0])
  })

  it('resolves a container by full and short id', async () => {
    expect((await targets.resolve({ container: b.id })).map((c) => c.name)).toEqual([b.name])
    expect((await targets.resolve({ container: b.id.slice(0, 12) })).map((c) => c.name)).toEqual([b.name])
  })

  it('resolves a label to the running containers that carry it, by mode', async () => {
    const label = `app=${app}`
    const names = async (target: FaultTarget, random?: () => number) =>
      (await targets.resolve(target, random)).map((c) => c.name)
    expect(await names({ label })).toEqual([a.name, b.name])
    expect(await names({ label, mode: 'all' })).toEqual([a.name, b.name])
    expect(await names({ label, mode: 'one' }, () => 0)).toEqual([a.name])
    expect(await names({ label, mode: 'one' }, () => 0.99)).toEqual([b.name])
    expect(await names({ label, mode: 'percent', percent: 50 })).toHaveLength(1)
    expect(await names({ label, mode: 'percent', percent: 51 })).toEqual([a.name, b.name])
  })

  it('resolves a compose service by its com.docker.compose.service label', async () => {
    const found = await targets.resolve({ service })
    expect(found.map((c) => [c.id, c.ip, c.pid])).toEqual([[svc.id, svc.ip, svc.pid]])
    expect(found[0]!.labels['com.docker.compose.service']).toBe(service)
  })

  it('names what matched nothing', async () => {
    const missing = `gauntlet-test-missing-${run}`
    const noContainer = await rejection(targets.resolve({ container: missing }))
    expect([noContainer.code, noContainer.message]).toEqual(['not_found', `no container "${missing}"`])
    const noLabel = await rejection(targets.resolve({ label: `app=${missing}` }))
    expect([noLabel.code, noLabel.message]).toEqual(['not_found', `no running container with label app=${missing}`])
    const noService = await rejection(targets.resolve({ service: missing }))
    expect(noService.code).toBe('not_found')
    expect(noService.message).toContain(`compose service "${missing}"`)
  })

  it('refuses a stopped container by name, and a label leaves it out', async () => {
    const stopped = await startHttpdContainer({ labels: { app } })
    try {
      await dockerClient().getContainer(stopped.id).stop({ t: 0 })
      const error = await rejection(targets.resolve({ container: stopped.name }))
      expect(error.code).toBe('conflict')
      expect(error.message).toBe(`container "${stopped.name}" is not running (exited); faults need a running container`)
      expect(await targets.inspect(stopped.id)).toBeUndefined()
      expect((await targets.resolve({ label: `app=${app}` })).map((c) => c.name)).toEqual([a.name, b.name])
      expect((await targets.running()).map((c) => c.name)).not.toContain(stopped.name)
    } finally {
      await stopped.stop()
    }
  })

  it('inspect() follows a container until it is removed', async () => {
    const gone = await startHttpdContainer({ labels: { app: `gone-${run}` } })
    expect((await targets.inspect(gone.id))?.pid).toBe(gone.pid)
    await gone.stop()
    await gone.stop() // removing twice is fine
    expect(await targets.inspect(gone.id)).toBeUndefined()
    expect(await targets.inspect(gone.name)).toBeUndefined()
  })

  it('gives the PID and address that docker inspect gives, and they are the real container', async () => {
    const [found] = await targets.resolve({ container: a.name })
    const { stdout } = await promisify(execFile)('docker', [
      'inspect',
      '-f',
      '{{.State.Pid}} {{.NetworkSettings.IPAddress}}',
      a.name,
    ])
    expect(`${found!.pid} ${found!.ip}`).toBe(stdout.trim())
    // The PID is httpd on this host (what nsenter will use), the address serves the image's /www.
    expect((await readFile(`/proc/${found!.pid}/cmdline`, 'utf8')).split('\0')[0]).toBe('/bin/httpd')
    const big = await fetch(`http://${found!.ip}:8080/big.bin`)
    expect((await big.arrayBuffer()).byteLength).toBe(bigFileBytes)
  })

  it('follows a restart to the new PID', async () => {
    const before = svc.pid
    await svc.restart()
    expect(svc.pid).not.toBe(before)
    expect((await targets.inspect(svc.id))?.pid).toBe(svc.pid)
    expect((await fetch(svc.url)).ok).toBe(true)
  })

  it('refuses a container on the host network: a fault there would hit the host', async () => {
    const host = await dockerClient().createContainer({
      name: `gauntlet-test-hostnet-${run}`,
      Image: await ensureBusyboxImage(),
      Cmd: ['/bin/sleep', '60'],
      Labels: testLabels(),
      HostConfig: { NetworkMode: 'host' },
    })
    try {
      await host.start()
      const error = await rejection(targets.resolve({ container: `gauntlet-test-hostnet-${run}` }))
      expect(error.code).toBe('target_not_allowed')
      expect(error.message).toMatch(/network mode host/)
      // Nor is it among the containers a recovery would look in.
      expect((await targets.running()).map((c) => c.name)).not.toContain(`gauntlet-test-hostnet-${run}`)
    } finally {
      await host.remove({ force: true })
    }
  })
})
