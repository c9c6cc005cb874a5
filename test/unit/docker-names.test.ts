import {
  FaultDocumentSchema,
  GauntletError,
  isComposeService,
  isContainerRef,
  isLabelSelector,
  type FaultTarget,
} from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import type Docker from 'dockerode'
import { describe, expect, it } from 'vitest'
import { containerPathSegment, DockerTargets } from '../../packages/faults/src/docker-targets.js'
import { adhocFault } from '../../packages/faults/src/adhoc-fault.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

/**
 * Docker's grammar for fault targets (L3): what passes, what is refused, and that a refusal reaches no Docker API
 * call.
 */

const hostile = [
  '../images/x',
  'x/../../y',
  'a b',
  '%2e%2e',
  '..',
  '/../x',
  'a/b',
  'a?b',
  'a#b',
  'a\nb',
  '',
  'a',
  '-a',
  '.a',
  '_a',
  'é1',
]

describe('container names and ids', () => {
  it.each(['web', 'orders-1', 'my_app.v2', 'A1', 'ab', 'a1b2c3d4e5f6', 'f'.repeat(64), 'x'.repeat(200)])(
    'accepts %j',
    (name) => {
      expect(isContainerRef(name)).toBe(true)
    },
  )
  it.each([...hostile, '/web', 'x'.repeat(201)])('refuses %j', (name) => {
    expect(isContainerRef(name)).toBe(false)
  })
})

describe('label selectors', () => {
  it.each([
    'app=orders',
    'com.docker.compose.service=web',
    'com.example/tier=a:b',
    'app=',
    'App_1=x',
    'a=b=c',
    'org.opencontainers.image.title=ünï',
  ])('accepts %j', (label) => {
    expect(isLabelSelector(label)).toBe(true)
  })
  it.each([
    'app',
    '=x',
    'app =x',
    'app= x',
    'app=a b',
    'app=a\tb',
    'app=a\u0000',
    '.app=x',
    'app.=x',
    '../x=y',
    `app=${'v'.repeat(1000)}`,
  ])('refuses %j', (label) => {
    expect(isLabelSelector(label)).toBe(false)
  })
})

describe('compose service names', () => {
  it.each(['web', 'orders-api', 'db_1', 'v1.2', 'W'])('accepts %j', (service) => {
    expect(isComposeService(service)).toBe(true)
  })
  it.each(['', 'a b', 'a/b', '%2e', 'a:b', 'x'.repeat(201)])('refuses %j', (service) => {
    expect(isComposeService(service)).toBe(false)
  })
})

describe('the fault schema', () => {
  it.each<[FaultTarget, string]>([
    [{ container: '../images/x' }, '/target/container'],
    [{ container: '%2e%2e' }, '/target/container'],
    [{ label: 'app=a b' }, '/target/label'],
    [{ service: 'x/../y' }, '/target/service'],
  ])('refuses %j at %s', (target, path) => {
    const errors = [...Value.Errors(FaultDocumentSchema, { type: 'reset', port: 80, duration: '5s', target })]
    expect(errors.map((e) => e.path)).toContain(path)
  })

  it('refuses an ad hoc fault with a hostile container, naming the field', () => {
    let error: unknown
    try {
      adhocFault({ type: 'reset', port: 80, duration: '5s', target: { container: 'x/../../y' } }, '/body')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GauntletError)
    const problems = (error as GauntletError).problems
    expect(problems).toEqual([
      { path: '/body/target/container', message: expect.stringMatching(/^expected a Docker container name/) as string },
    ])
  })

  it('refuses a scenario with a hostile container at its line and column', () => {
    const yaml = [
      'name: l3',
      'target:',
      '  url: http://127.0.0.1:1/',
      'load:',
      '  steps: [{ rps: 1, duration: 2s }]',
      'faults:',
      '  - type: reset',
      '    port: 80',
      '    duration: 1s',
      '    target:',
      '      container: ../images/x',
      '',
    ].join('\n')
    let error: unknown
    try {
      parseScenario(yaml)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(GauntletError)
    const problems = (error as GauntletError).problems
    expect(problems).toContainEqual(
      expect.objectContaining({ path: '/faults/0/target/container', line: 11, column: 18 }),
    )
  })
})

/** A dockerode stand-in that records every call it is asked to make. */
function recordingDocker(): { docker: Docker; calls: string[] } {
  const calls: string[] = []
  const info = (id: string) => ({
    Id: id,
    Name: `/${id}`,
    State: { Running: true, Pid: 42, Status: 'running' },
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: {} },
    Config: { Labels: {} },
  })
  const docker = {
    modem: { socketPath: '/fake/docker.sock' },
    getContainer: (id: string) => {
      calls.push(`getContainer ${id}`)
      return { inspect: () => Promise.resolve(info(id)) }
    },
    listContainers: (options: unknown) => {
      const withoutSignal = (key: string, value: unknown): unknown => (key === 'abortSignal' ? undefined : value)
      calls.push(`listContainers ${JSON.stringify(options, withoutSignal)}`)
      return Promise.resolve([])
    },
  }
  return { docker: docker as unknown as Docker, calls }
}

describe('the Docker adapter boundary', () => {
  it.each(hostile)('refuses container %j before any Docker API call', async (container) => {
    const { docker, calls } = recordingDocker()
    const targets = new DockerTargets(docker)
    const [resolved, inspected] = await Promise.allSettled([targets.resolve({ container }), targets.inspect(container)])
    for (const outcome of [resolved, inspected]) {
      expect(outcome.status).toBe('rejected')
      expect(((outcome as PromiseRejectedResult).reason as GauntletError).code).toBe('usage')
    }
    expect(calls).toEqual([])
  })

  it.each<FaultTarget>([
    { container: '/web' },
    { label: 'app=a b' },
    { label: '../x=y' },
    { service: 'a/b' },
    { service: '' },
  ])('refuses %j before any Docker API call', async (target) => {
    const { docker, calls } = recordingDocker()
    const error = await new DockerTargets(docker).resolve(target).catch((e: unknown) => e)
    expect((error as GauntletError).code).toBe('usage')
    expect(calls).toEqual([])
  })

  it('asks the engine for a valid name, a leading "/" from the API dropped', async () => {
    const { docker, calls } = recordingDocker()
    const targets = new DockerTargets(docker)
    expect((await targets.resolve({ container: 'orders-1' })).map((c) => c.name)).toEqual(['orders-1'])
    expect((await targets.inspect('/orders-1'))?.id).toBe('orders-1')
    await expect(targets.resolve({ service: 'web' })).rejects.toThrow(/no running container with compose service "web"/)
    expect(calls).toEqual([
      'getContainer orders-1',
      'getContainer orders-1',
      'listContainers {"filters":{"label":["com.docker.compose.service=web"],"status":["running"]}}',
    ])
  })

  it.each([
    ['orders', 'orders'],
    ['/orders', 'orders'],
    ['a1b2c3d4e5f6', 'a1b2c3d4e5f6'],
  ])('encodes %j as the path segment %j', (name, segment) => {
    expect(containerPathSegment(name)).toBe(segment)
  })
})
