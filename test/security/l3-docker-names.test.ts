import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * L3: fault container names went unencoded into Docker API paths (`../images/x` would reach other
 * endpoints). A real controller whose Docker engine (DOCKER_HOST) is a fake of ours that records every
 * request: hostile names are refused with 400 problem+json naming the field, and the engine sees nothing.
 */

const hostile = ['../images/x', 'x/../../y', 'a b', '%2e%2e']

/** A Docker engine stand-in on a unix socket: no containers, and a log of every request line. */
async function recordingDockerEngine(): Promise<{ server: Server; socketPath: string; requests: string[] }> {
  const socketPath = join(tempDir(), 'docker.sock')
  const requests: string[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push(`${request.method} ${request.url}`)
    const path = (request.url ?? '').replace(/^\/v[0-9.]+/, '').split('?')[0]
    response.setHeader('content-type', 'application/json')
    if (path === '/containers/json') response.end('[]')
    else if (path === '/_ping') response.end('OK')
    else response.writeHead(404).end(JSON.stringify({ message: 'No such container' }))
  })
  server.listen(socketPath)
  await once(server, 'listening')
  return { server, socketPath, requests }
}

describe('L3: Docker names are checked before any Docker API call', () => {
  let engine: Awaited<ReturnType<typeof recordingDockerEngine>>
  let controller: ControllerUnderTest

  beforeAll(async () => {
    engine = await recordingDockerEngine()
    // --docker: this controller holds faults with its own engine (the recording one), not only through agents.
    controller = await startController({
      args: ['--docker'],
      env: { DOCKER_HOST: `unix://${engine.socketPath}`, GAUNTLET_FAULT_JOURNAL: join(tempDir(), 'faults.jsonl') },
    })
  })
  afterAll(async () => {
    await controller?.stop()
    engine?.server.close()
  })

  it('the controller talks to the recording engine (its start-up recovery listed containers there)', () => {
    expect(engine.requests.some((line) => /^GET \/(v[0-9.]+\/)?containers\/json/.test(line))).toBe(true)
  })

  it.each(hostile)('POST /api/faults with container %j: 400 naming the field, no Docker call', async (container) => {
    const before = engine.requests.length
    const response = await controller.api('/api/faults', {
      body: { type: 'reset', port: 80, duration: '5s', target: { container } },
    })
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(JSON.stringify(await response.json())).toContain('/body/target/container')
    expect(engine.requests.slice(before)).toEqual([])
  })

  it.each(hostile)(
    'POST /api/runs with a scenario whose fault container is %j: 400 at the field with line:column, no Docker call',
    async (container) => {
      const before = engine.requests.length
      const yaml = [
        'name: l3-hostile',
        'target:',
        '  url: http://127.0.0.1:9/',
        'load:',
        '  steps: [{ rps: 1, duration: 2s }]',
        'faults:',
        '  - type: reset',
        '    port: 80',
        '    duration: 1s',
        '    target:',
        `      container: ${JSON.stringify(container)}`,
        '',
      ].join('\n')
      const response = await controller.api('/api/runs', { body: { yaml } })
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const problem = (await response.json()) as {
        problems?: Array<{ path: string; line?: number; column?: number; message: string }>
      }
      expect(problem.problems).toContainEqual(
        expect.objectContaining({
          path: '/faults/0/target/container',
          line: 11,
          column: 18,
          message: expect.stringMatching(/Docker container name/) as string,
        }),
      )
      expect(engine.requests.slice(before)).toEqual([])
    },
  )

  it('POST /api/faults with a hostile label or compose service: 400, no Docker call', async () => {
    const before = engine.requests.length
    for (const target of [{ label: 'app=a b' }, { label: '../x=y' }, { service: '../images' }]) {
      const response = await controller.api('/api/faults', {
        body: { type: 'reset', port: 80, duration: '5s', target },
      })
      expect(response.status).toBe(400)
      expect(JSON.stringify(await response.json())).toContain(`/body/target/${Object.keys(target)[0]}`)
    }
    expect(engine.requests.slice(before)).toEqual([])
    expect(await controller.healthy()).toBe(true)
  })
})
