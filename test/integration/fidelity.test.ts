import type { RunSummary } from '@gauntlet/contracts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { openModelLatenciesMs, percentile } from '../helpers/open-model-client.js'

/** Latency fidelity: numbers measured from the intended send time, against a target in its own process. */
describe('latency fidelity (real demo target process)', () => {
  let target: ChildServer | undefined
  afterEach(async () => {
    await target?.stop()
    target = undefined
  })

  async function run(url: string, load: string): Promise<RunSummary> {
    const dir = tempDir()
    const file = writeScenario(dir, `name: fidelity\ntarget: { url: "${url}/work" }\nload:\n${load}\n`)
    const summaryFile = join(dir, 'summary.json')
    const result = await runCli(['run', file, '--db', join(dir, 'g.db'), '--summary', summaryFile, '--quiet'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
  }

  it('reports a fixed 20 ms service time as p50 in [20, 23] ms and p99 in [20, 30] ms at 200 and 400 rps', async () => {
    target = await startDemoTarget('--latency', '20')
    const summary = await run(target.url, '  steps: [{ rps: 200, duration: 4s }, { rps: 400, duration: 4s }]\n  warmup: 1s')
    for (const step of summary.steps) {
      expect(step.sent).toBe(step.planned)
      expect(step.p50Ms).toBeGreaterThanOrEqual(20)
      expect(step.p50Ms).toBeLessThanOrEqual(23)
      expect(step.p99Ms).toBeGreaterThanOrEqual(20)
      expect(step.p99Ms).toBeLessThanOrEqual(30)
    }
  })

  it('shows a 1 s event-loop stall like a plain open-model client does (p90, p99 within 10%)', async () => {
    const stall = ['--latency', '20', '--stall-after', '2500', '--stall-for', '1000']
    target = await startDemoTarget(...stall)
    const reference = await openModelLatenciesMs(`${target.url}/work`, 500, 6)
    await target.stop()

    target = await startDemoTarget(...stall)
    const summary = await run(target.url, '  steps: [{ rps: 500, duration: 6s }]')
    const step = summary.steps[0]!
    const expected = { p90: percentile(reference, 90), p99: percentile(reference, 99) }
    console.log(`stall: gauntlet p50 ${step.p50Ms} p90 ${step.p90Ms} p99 ${step.p99Ms}; open-model reference p50 ${percentile(reference, 50).toFixed(1)} p90 ${expected.p90.toFixed(1)} p99 ${expected.p99.toFixed(1)}`)

    expect(step.sent).toBe(3000)
    expect(step.errors).toBe(0)
    // The stall must be visible: a tool that only times what it managed to send reports p90 ~ 23 ms.
    expect(expected.p90).toBeGreaterThan(300)
    expect(step.p50Ms).toBeLessThan(25)
    expect(Math.abs(step.p90Ms! - expected.p90) / expected.p90).toBeLessThan(0.1)
    expect(Math.abs(step.p99Ms! - expected.p99) / expected.p99).toBeLessThan(0.1)
  })
})
