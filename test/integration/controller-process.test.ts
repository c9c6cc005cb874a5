import type { RunSummary } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startChildServer, startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { gauntletBin, runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { readFileSync } from 'node:fs'

const scenariosDir = new URL('../../scenarios/', import.meta.url).pathname

/** `gauntlet controller` as a real process: start-up, refusals, and a kill -9 in the middle of a run. */
describe('gauntlet controller (real process)', () => {
  let target: ChildServer
  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
  })
  afterAll(async () => {
    await target.stop()
  })

  const startController = (db: string) =>
    startChildServer(process.execPath, [
      gauntletBin,
      'controller',
      '--port',
      '0',
      '--db',
      db,
      '--scenarios',
      scenariosDir,
    ])

  it('loads the scenarios directory at start and serves it', async () => {
    const controller = await startController(join(tempDir(), 'c.db'))
    try {
      const names = ((await (await fetch(`${controller.url}/api/scenarios`)).json()) as Array<{ name: string }>).map(
        (s) => s.name,
      )
      expect(names).toEqual(['canary', 'demo-knee', 'orders-ramp', 'release-gate', 'shop-mix', 'weekly-chaos'])
    } finally {
      await controller.stop()
    }
  })

  it('refuses to listen beyond loopback without GAUNTLET_TOKEN (exit 2)', async () => {
    const child = spawn(process.execPath, [gauntletBin, 'controller', '--host', '0.0.0.0', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GAUNTLET_TOKEN: '' },
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(2)
    expect(stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without GAUNTLET_TOKEN/)
  })

  it('after kill -9 mid-run, a restarted controller shows the run interrupted with every stored window', async () => {
    const db = join(tempDir(), 'c.db')
    const first = await startController(db)
    const yaml = `name: long\ntarget: { url: "${target.url}/x" }\nload:\n  steps: [{ rps: 20, duration: 60s }]\n`
    const { id } = (await (
      await fetch(`${first.url}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ yaml }),
      })
    ).json()) as { id: string }
    let stored = 0
    for (let i = 0; i < 100 && stored < 2; i++) {
      stored = ((await (await fetch(`${first.url}/api/runs/${id}/windows`)).json()) as unknown[]).length
      if (stored < 2) await delay(100) // polling the API for progress, bounded
    }
    expect(stored).toBeGreaterThanOrEqual(2)
    first.process.kill('SIGKILL')
    await once(first.process, 'exit')
    // The load died with its process: the target sees no more requests.
    const requests = async () =>
      ((await (await fetch(`${target.url}/__stats`)).json()) as { requests: number }).requests
    const afterKill = await requests()
    await delay(1000)
    expect(await requests()).toBe(afterKill)

    const second = await startController(db)
    try {
      const run = (await (await fetch(`${second.url}/api/runs/${id}`)).json()) as {
        status: string
        finishedAt: string | null
      }
      expect(run.status).toBe('interrupted')
      expect(run.finishedAt).not.toBeNull()
      const windows = (await (await fetch(`${second.url}/api/runs/${id}/windows`)).json()) as unknown[]
      expect(windows.length).toBeGreaterThanOrEqual(stored)
      const events = await (await fetch(`${second.url}/api/runs/${id}/events`)).text()
      expect(events).toMatch(/^event: status\ndata: \{"status":"interrupted"/)
    } finally {
      await second.stop()
    }
  })

  it('gauntlet run --controller: same progress, summary and exit codes as the embedded run', async () => {
    const controller = await startController(join(tempDir(), 'c.db'))
    try {
      const dir = tempDir()
      const scenario = (threshold: string) =>
        `name: remote\ntarget: { url: "${target.url}/x" }\nload:\n  steps: [{ rps: 40, duration: 2s }]\n` +
        `thresholds: [${threshold}]\n`
      const passing = await runCli([
        'run',
        writeScenario(dir, scenario('p99 < 500ms'), 'pass.yaml'),
        '--controller',
        controller.url,
        '--summary',
        join(dir, 'pass.json'),
      ])
      expect(passing.stderr).toBe('')
      expect(passing.code).toBe(0)
      expect(passing.stdout.match(/step 1\/1 +planned 40/g)).toHaveLength(2)
      expect(passing.stdout).toMatch(/verdict: PASS \(capacity 40 rps/)
      const summary = JSON.parse(readFileSync(join(dir, 'pass.json'), 'utf8')) as RunSummary
      expect(summary).toMatchObject({ verdict: 'pass', status: 'passed', steps: [{ sent: 80, errors: 0 }] })
      expect(
        ((await (await fetch(`${controller.url}/api/runs/${summary.runId}`)).json()) as { status: string }).status,
      ).toBe('passed')

      const failing = await runCli([
        'run',
        writeScenario(dir, scenario('p50 < 0.001ms'), 'fail.yaml'),
        '--controller',
        controller.url,
      ])
      expect(failing.code).toBe(1)
      expect(failing.stdout).toMatch(/verdict: FAIL/)

      const invalid = await runCli([
        'run',
        writeScenario(dir, scenario('p99 < 500'), 'bad.yaml'),
        '--controller',
        controller.url,
      ])
      expect(invalid.code).toBe(2)
      expect(invalid.stderr).toMatch(/bad\.yaml:5:14 \/thresholds\/0: threshold "p99 < 500": a latency needs a unit/)
    } finally {
      await controller.stop()
    }
    const gone = await runCli([
      'run',
      writeScenario(
        tempDir(),
        `name: x\ntarget: { url: "${target.url}/x" }\nload: { steps: [{ rps: 1, duration: 1s }] }\n`,
      ),
      '--controller',
      controller.url,
    ])
    expect(gone.code).toBe(3)
    expect(gone.stderr).toMatch(/controller http:\/\/127\.0\.0\.1:\d+ unreachable/)
  })
})
