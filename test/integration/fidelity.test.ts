import type { RunSummary } from '@gauntlet/contracts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startChildServer, startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { openModelLatenciesMs, percentile } from '../helpers/open-model-client.js'

const fixedLatencyServer = new URL('../helpers/fixed-latency-server.mjs', import.meta.url).pathname

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
    if (result.stderr) console.log(result.stderr.trim())
    expect(result.stderr).not.toMatch(/^gauntlet:/m)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
    // A generator-limited step is allowed (this machine is shared): it is never a pass, so such a run
    // ends as could-not-judge (exit 3); the figures below are what count.
    const limited = summary.steps.some((s) => s.verdict === 'generator-limited')
    expect(result.code).toBe(limited ? 3 : 0)
    return summary
  }

  it('reports a fixed 20 ms service time as p50 in [20, 23] ms and p99 in [20, 30] ms at 200 and 400 rps', async () => {
    target = await startChildServer(process.execPath, [fixedLatencyServer, '20'])
    const summary = await run(
      target.url,
      '  steps: [{ rps: 200, duration: 4s }, { rps: 400, duration: 4s }]\n  warmup: 1s',
    )
    for (const step of summary.steps) {
      expect(step.sent).toBe(step.planned)
      expect(step.p50Ms).toBeGreaterThanOrEqual(20)
      expect(step.p50Ms).toBeLessThanOrEqual(23)
      expect(step.p99Ms).toBeGreaterThanOrEqual(20)
      if (step.p99Ms! > 30) {
        // The 1% tail of a few seconds (a dozen samples) is at the mercy of anything else on this shared
        // 2-core machine. A p99 above 30 ms passes only when it does not hold up: three more rounds, each
        // Gauntlet then a plain open-model client, and the median Gauntlet p99 must meet 30 ms or stay
        // within 10% of the client's median.
        const ours: number[] = []
        const theirs: number[] = []
        for (let round = 0; round < 3; round++) {
          ours.push(
            (await run(target.url, `  steps: [{ rps: ${step.plannedRps}, duration: 4s }]\n  warmup: 1s`)).steps[0]!
              .p99Ms!,
          )
          theirs.push(percentile(await openModelLatenciesMs(`${target.url}/work`, step.plannedRps, 3), 99))
        }
        const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!
        console.log(
          `step ${step.index + 1}: gauntlet p99 ${step.p99Ms} ms > 30 ms; rounds: gauntlet ${ours.join(', ')}; ` +
            `plain client ${theirs.map((v) => v.toFixed(1)).join(', ')}`,
        )
        expect(
          median(ours) <= 30 || median(ours) <= median(theirs) * 1.1 + 1,
          `median p99 ${median(ours)} ms vs plain client ${median(theirs).toFixed(1)} ms`,
        ).toBe(true)
      }
    }
  })

  it('shows a 1 s event-loop stall like a plain open-model client does (p90, p99 within 10%)', async () => {
    const stall = ['--latency', '20', '--stall-after', '2500', '--stall-for', '1000']
    // How a stalled server drains its backlog varies from run to run on a shared 2-core machine, so
    // each side is measured twice, alternating, and the means are compared.
    const ours: Array<RunSummary['steps'][number]> = []
    const reference: Array<{ p50: number; p90: number; p99: number }> = []
    for (let round = 0; round < 2; round++) {
      target = await startDemoTarget(...stall)
      const latencies = await openModelLatenciesMs(`${target.url}/work`, 500, 6)
      reference.push({ p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) })
      await target.stop()
      target = await startDemoTarget(...stall)
      ours.push((await run(target.url, '  steps: [{ rps: 500, duration: 6s }]')).steps[0]!)
      await target.stop()
      target = undefined
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
    const gauntlet = {
      p50: mean(ours.map((s) => s.p50Ms!)),
      p90: mean(ours.map((s) => s.p90Ms!)),
      p99: mean(ours.map((s) => s.p99Ms!)),
    }
    const expected = { p90: mean(reference.map((r) => r.p90)), p99: mean(reference.map((r) => r.p99)) }
    console.log(
      `stall: gauntlet p50 ${gauntlet.p50.toFixed(1)} p90 ${gauntlet.p90.toFixed(1)} ` +
        `p99 ${gauntlet.p99.toFixed(1)}; open-model reference p50 ${mean(reference.map((r) => r.p50)).toFixed(1)} ` +
        `p90 ${expected.p90.toFixed(1)} p99 ${expected.p99.toFixed(1)}`,
    )

    for (const step of ours) {
      expect(step.sent).toBe(3000)
      expect(step.errors).toBe(0)
      expect(step.p50Ms).toBeLessThan(25)
    }
    // The stall must be visible: a tool that only times what it managed to send reports p90 ~ 23 ms.
    expect(expected.p90).toBeGreaterThan(300)
    expect(Math.abs(gauntlet.p90 - expected.p90) / expected.p90).toBeLessThan(0.1)
    expect(Math.abs(gauntlet.p99 - expected.p99) / expected.p99).toBeLessThan(0.1)
  })
})
