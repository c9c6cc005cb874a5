import type { WindowReport } from '@gauntlet/contracts'
import type { FastifyInstance } from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'
import { inProcessController } from '../helpers/in-process-controller.js'
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

/**
 * Issue 15 on the controller: `${env.*}` reads only GAUNTLET_REQUEST_* variables of the controller, data
 * files only under --files-dir, and GET /api/runs/:id/windows?request=<name> gives one request's seconds.
 */
describe('a mix run over REST', () => {
  let server: RecordingServer
  let app: FastifyInstance
  let stop: () => Promise<void>
  let base: string
  const filesDir = tempDir()
  const secret = 'shop-secret-0c41e2'

  beforeAll(async () => {
    server = await startRecordingServer('127.0.0.1', (_request, response) => response.writeHead(200).end('ok'))
    mkdirSync(join(filesDir, 'data'))
    writeFileSync(join(filesDir, 'data', 'skus.csv'), 'sku\nA1\nB2\n')
    ;({ app, stop } = inProcessController({
      env: { GAUNTLET_FILES_DIR: filesDir, GAUNTLET_REQUEST_SHOP: secret, HOME: '/root' },
    }))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await stop()
    await server.close()
  })

  const scenario = (header: string, file = 'data/skus.csv'): string => `name: rest-mix
target: { url: "${server.url}", headers: { authorization: "Bearer ${header}" } }
data:
  skus: { file: ${file} }
requests:
  - { name: browse, weight: 3, path: "/p/{{ data.skus.sku }}" }
  - { name: buy, weight: 1, method: POST, path: /buy, body: '{"n":{{ seq }}}' }
load:
  steps: [{ rps: 40, duration: 3s }]
`
  const post = (yaml: string) =>
    fetch(`${base}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ yaml }),
    })

  it("sends the controller's GAUNTLET_REQUEST_* value and the data under --files-dir; pages one request's windows", async () => {
    const from = server.requests.length
    const started = await post(scenario('${env.GAUNTLET_REQUEST_SHOP}'))
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    let status = 'running'
    for (let i = 0; i < 100 && status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      status = ((await (await fetch(`${base}/api/runs/${id}`)).json()) as { status: string }).status
    }
    expect(status).toBe('passed')
    const received = server.requests.slice(from)
    expect(received).toHaveLength(120)
    expect(new Set(received.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${secret}`]))
    expect(received.filter((r) => r.path === '/buy')).toHaveLength(30)
    // The stored scenario and the run keep the reference, never the value.
    const detail = await (await fetch(`${base}/api/runs/${id}`)).text()
    expect(detail).not.toContain(secret)

    const buys = (await (await fetch(`${base}/api/runs/${id}/windows?request=buy`)).json()) as Array<
      WindowReport & { latencyMs: { count: number } }
    >
    expect(buys.map((w) => w.dispatched)).toEqual([10, 10, 10])
    for (const w of buys) {
      expect(w.ok).toBe(10)
      expect(w.latencyMs.count).toBe(10)
      expect(w.requests).toBeUndefined()
    }
    const all = (await (await fetch(`${base}/api/runs/${id}/windows`)).json()) as WindowReport[]
    expect(all.map((w) => w.requests?.browse?.dispatched)).toEqual([30, 30, 30])
  })

  it('refuses a variable outside GAUNTLET_REQUEST_*, and a data file outside --files-dir, before storing a run', async () => {
    const env = await post(scenario('${env.HOME}'))
    expect(env.status).toBe(400)
    expect(((await env.json()) as { detail: string }).detail).toMatch(
      /\/requests\/0\/headers\/authorization: \$\{env\.HOME\}: the controller gives runs only variables named GAUNTLET_REQUEST_\*/,
    )
    const outside = await post(scenario('${env.GAUNTLET_REQUEST_SHOP}', '../../etc/passwd.csv'))
    expect(outside.status).toBe(400)
    expect(((await outside.json()) as { detail: string }).detail).toMatch(
      /\/data\/skus\/file: .*outside the controller's files directory/,
    )
    const runs = (await (await fetch(`${base}/api/runs`)).json()) as { items?: unknown[] } | unknown[]
    const count = Array.isArray(runs) ? runs.length : (runs.items?.length ?? 0)
    expect(count).toBe(1)
  })
})
