import type { RunSummary } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { gauntletBin, tempDir, writeScenario } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'
import { pollUntil, startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

const graceS = 2

/**
 * M6: stopping is bounded. Against a hook receiver that never answers, an abort cancels the pending
 * hooks at once except onRollback and postRun, which get --hook-grace in all; the run is stored as
 * aborted within that grace + 2 s, and SIGTERM ends the controller within it, with the run stored.
 */
describe('M6: abort and SIGTERM do not wait for hanging hooks', () => {
  let target: ChildServer
  /** Reads every request and never answers. */
  let hanging: RecordingServer
  const controllers: ControllerUnderTest[] = []

  beforeAll(async () => {
    hanging = await startRecordingServer('127.0.0.1', () => undefined)
    target = await startDemoTarget('--latency', '1')
  })
  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.stop()
  })
  afterAll(async () => {
    await target?.stop()
    await hanging?.close()
  })

  /** A long run whose every hook hangs, with long timeouts and many retries. */
  const scenario = (name: string): string => `name: ${name}
target: { url: "${target.url}/" }
load: { steps: [ { rps: 10, duration: 60s } ] }
hooks:
  preStep: [ { url: "${hanging.url}/${name}/pre", timeout: 60s, retries: 10 } ]
  postRun: [ { url: "${hanging.url}/${name}/post", timeout: 60s, retries: 10 } ]
`

  const startRun = async (c: ControllerUnderTest, name: string): Promise<string> => {
    const started = await c.api('/api/runs', { body: { yaml: scenario(name) } })
    expect(started.status).toBe(201)
    const { id } = (await started.json()) as { id: string }
    // The run is under way and its preStep hook is hanging.
    await hanging.waitForRequest(new RegExp(`^/${name}/pre$`))
    return id
  }

  it(`abort: the run is stored as aborted within the grace + 2 s; preStep is cancelled at once, \
postRun after the grace`, async () => {
    const c = await startController({ args: ['--hook-grace', `${graceS}s`] })
    controllers.push(c)
    const id = await startRun(c, 'aborted')
    const abortedAt = Date.now()
    expect((await c.api(`/api/runs/${id}/abort`, { body: {} })).status).toBe(202)
    const run = await pollUntil(
      async () => (await (await c.api(`/api/runs/${id}`)).json()) as { status: string; summary: RunSummary | null },
      (r) => r.status !== 'running',
      (graceS + 5) * 1000,
    )
    const elapsedMs = Date.now() - abortedAt
    expect(run.status).toBe('aborted')
    expect(elapsedMs).toBeLessThan((graceS + 2) * 1000)
    const hooks = run.summary!.hooks!
    expect(hooks.find((h) => h.event === 'preStep')).toMatchObject({
      delivered: false,
      attempts: [{ error: 'cancelled: the run was stopped' }],
    })
    // postRun was sent (the receiver got it) and given the grace, then cancelled; its retries never happened.
    expect(hooks.find((h) => h.event === 'postRun')).toMatchObject({
      delivered: false,
      attempts: [{ error: 'cancelled: the run was stopped' }],
    })
    expect(hanging.requests.filter((r) => r.path === '/aborted/post')).toHaveLength(1)
    expect(await c.healthy()).toBe(true)
  }, 30_000)

  it(`SIGTERM: the controller exits within the grace + 2 s, \
and the run is stored as aborted (read after a restart)`, async () => {
    const c = await startController({ args: ['--hook-grace', `${graceS}s`] })
    controllers.push(c)
    const id = await startRun(c, 'terminated')
    const exited = once(c.process, 'exit')
    const signalledAt = Date.now()
    c.process.kill('SIGTERM')
    const [code] = (await exited) as [number | null]
    expect(Date.now() - signalledAt).toBeLessThan((graceS + 2) * 1000)
    expect(code).toBe(0)

    const restarted = await startController({ db: c.db })
    controllers.push(restarted)
    const run = (await (await restarted.api(`/api/runs/${id}`)).json()) as {
      status: string
      summary: RunSummary | null
    }
    expect(run.status).toBe('aborted')
    expect(run.summary!.hooks!.find((h) => h.event === 'postRun')).toMatchObject({ delivered: false })
    expect(await restarted.healthy()).toBe(true)
  }, 30_000)

  it(`Ctrl-C on the embedded \`gauntlet run\` applies the same grace: exit 3 within it + 2 s, \
the run aborted`, async () => {
    const dir = tempDir()
    const file = writeScenario(dir, scenario('interrupted'))
    const summaryFile = join(dir, 'summary.json')
    const child = spawn(
      process.execPath,
      [
        gauntletBin,
        'run',
        file,
        '--db',
        join(dir, 'g.db'),
        '--summary',
        summaryFile,
        '--hook-grace',
        `${graceS}s`,
        '--quiet',
      ],
      { stdio: 'ignore' },
    )
    const exited = once(child, 'exit')
    await hanging.waitForRequest(/^\/interrupted\/pre$/)
    const signalledAt = Date.now()
    child.kill('SIGINT')
    const [code] = (await exited) as [number | null]
    expect(Date.now() - signalledAt).toBeLessThan((graceS + 2) * 1000)
    expect(code).toBe(3)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
    expect(summary.status).toBe('aborted')
    expect(summary.hooks!.find((h) => h.event === 'postRun')).toMatchObject({
      delivered: false,
      attempts: [{ error: 'cancelled: the run was stopped' }],
    })
  }, 30_000)
})
