import type { RunSummary } from '@gauntlet/contracts'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

/**
 * Issue 15 across remote agents (real processes): unique rows are dealt out so no row is sent twice,
 * `{{ seq }}` stays unique across agents, and each agent keeps the mix's weights.
 */
describe('a mix on two remote agents', () => {
  let server: RecordingServer
  const processes: ChildServer[] = []
  const env = { GAUNTLET_AGENT_SECRET: 'mix-agents-5d1c' }
  const filesDir = tempDir()

  beforeAll(async () => {
    server = await startRecordingServer('127.0.0.1', (_request, response) => response.writeHead(200).end('ok'))
    writeFileSync(join(filesDir, 'codes.csv'), `code\n${Array.from({ length: 300 }, (_, i) => `c${i}`).join('\n')}\n`)
  })
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()))
    await server.close()
  })

  it('sends each unique row once across the agents, with a distinct seq on every send', async () => {
    const controller = await startGauntlet(
      ['controller', '--port', '0', '--db', join(tempDir(), 'c.db'), '--agents', 'remote', '--files-dir', filesDir],
      env,
    )
    processes.push(controller)
    for (const name of ['a1', 'a2']) {
      const agent = await startGauntlet(['agent', '--controller', controller.url, '--name', name], env)
      processes.push(agent)
      await agent.waitForLine(/registered with/)
    }
    const client = new ControllerClient(controller.url, undefined)
    const id = await client.startRun(
      `name: mix-agents
target: { url: "${server.url}" }
data:
  codes: { file: codes.csv, order: unique }
requests:
  - { name: redeem, weight: 1, method: POST, path: "/redeem/{{ data.codes.code }}", body: "{{ seq }}" }
  - { name: look, weight: 3, path: "/look/{{ seq }}" }
load:
  steps: [{ rps: 80, duration: 4s }]
`,
      undefined,
    )
    let summary: RunSummary | undefined
    for await (const event of client.follow(id))
      if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
    expect(summary?.status, JSON.stringify(summary?.reasons)).toBe('passed')
    expect(summary!.agents?.map((a) => a.name).sort()).toEqual(['a1', 'a2'])

    const received = server.requests
    expect(received).toHaveLength(320)
    const redeemed = received.filter((r) => r.path.startsWith('/redeem/')).map((r) => r.path)
    // 80 of 320 sends redeem a code: each a different row, none twice, though two agents sent them.
    expect(redeemed).toHaveLength(80)
    expect(new Set(redeemed).size).toBe(80)
    // Every send of the run carries its own seq, across both agents.
    const seqs = received.map((r) => (r.path.startsWith('/look/') ? r.path.slice('/look/'.length) : r.body))
    expect(new Set(seqs).size).toBe(320)
  }, 60_000)
})
