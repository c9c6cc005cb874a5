import type { RootCause, RunReport } from '@gauntlet/contracts'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { dockerGate, faultSuite, startHttpdContainer } from '../helpers/docker.js'
import { runScenario, type ScenarioDoc } from '../helpers/fault-load.js'

/**
 * The root cause of runs with real faults on a real engine (busybox httpd in a container, `gauntlet run
 * --db`), built afterwards from what the run stored, with the fault parameters and request timeout
 * parsed from the scenario stored with the run.
 */
const gate = await dockerGate()

gate.describe('root cause of real fault runs', () => {
  const { tempDir } = faultSuite()

  /** Runs `doc` (a fault over its second step) and builds its root cause from the stored run. */
  async function rootCauseOf(prefix: string, doc: ScenarioDoc): Promise<RootCause> {
    const dir = tempDir(prefix)
    const run = await runScenario(dir, doc)
    const context = `exit ${run.code}\n${run.stdout}\n${run.stderr}`
    expect(run.summary?.faults?.[0]?.revertVerified, context).toBe(true)
    // As a user makes it later: `gauntlet report` reads the stored run and its stored scenario's fault plan.
    const made = await runCli(['report', run.summary!.runId, '--db', join(dir, 'gauntlet.db'), '--format', 'json'])
    expect(made.code, made.stderr).toBe(0)
    const report = JSON.parse(made.stdout) as RunReport
    const rootCause = report.rootCause!
    console.log(
      `${doc.name}: ${run.summary!.status}, ${report.chart.seconds.t.length} windows, ${run.summary!.reasons.join('; ')}\n${rootCause.headline}\n${rootCause.timeline.map((e) => `  ${e.atS} ${e.kind}: ${e.text}`).join('\n')}`,
    )
    return rootCause
  }

  /** 3 s clean, 3 s under the fault, 6 s after (recovery takes 3 s in a row back inside the bounds). */
  const threeSteps = (
    name: string,
    url: string,
    rps: number,
    timeout: string,
    fault: Record<string, unknown>,
  ): ScenarioDoc => ({
    name,
    target: { url, timeout },
    load: {
      steps: [
        { rps, duration: '3s' },
        { rps, duration: '3s' },
        { rps, duration: '6s' },
      ],
    },
    faults: [{ ...fault, atStep: 2, duration: '3s' }],
  })

  it(`a proxy delay beyond the request timeout: the delay fault is suspect #1 by the timeouts it explains, and the \
timeline runs from the fault to recovery`, async () => {
    const target = await startHttpdContainer()
    const rc = await rootCauseOf(
      'gauntlet-rc-delay-',
      threeSteps('rc-delay', `${target.url}/index.html`, 20, '300ms', {
        type: 'delay',
        mode: 'proxy',
        port: 8080,
        latency: '800ms',
        target: { container: target.name },
      }),
    )
    expect(rc.suspects[0]).toMatchObject({ rank: 1, kind: 'fault', subject: 'f1-delay' })
    expect(rc.suspects[0]!.rankedBy).toMatch(/^explains (9\d|100)(\.\d)?% of the excess errors \(timeout\)/)
    expect(rc.suspects[0]!.evidence.join('\n')).toMatch(/delay 800ms \+ base p50 .* beyond the 300ms request timeout/)
    const kinds = rc.timeline.map((e) => e.kind)
    expect(kinds.slice(0, 3)).toEqual(['fault-start', 'degraded', 'fault-end'])
    expect(rc.timeline.find((e) => e.kind === 'degraded')!.text).toMatch(/error rate/)
    expect(rc.impact!.successRateDropPp.lower!).toBeGreaterThan(20)
    expect(rc.impact!.errorClasses.find((c) => c.class === 'timeout')!.during).toBeGreaterThan(0.5)
    expect(rc.headline).toMatch(/^Success rate down .* most likely fault f1-delay: explains/)
  })

  it(`a bandwidth cap with 1 MiB responses (3 rps, 40 mbit/s): the bandwidth fault is suspect #1 by the latency rise`, async () => {
    const target = await startHttpdContainer()
    const rc = await rootCauseOf(
      'gauntlet-rc-bandwidth-',
      threeSteps('rc-bandwidth', `${target.url}/big.bin`, 3, '2s', {
        type: 'bandwidth',
        rate: '40mbit',
        target: { container: target.name },
      }),
    )
    expect(rc.suspects[0]).toMatchObject({ rank: 1, kind: 'fault', subject: 'f1-bandwidth' })
    // p99 always rises beyond its bounds; p50 does only when few of the 9 responses under the fault fall in
    // the seconds it started and ended in (seen both ways under the holder and the host injector).
    expect(rc.suspects[0]!.rankedBy).toMatch(/^explains the latency rise \(.*p99 \+\d+/)
    expect(rc.suspects[0]!.evidence).toContain('rate 40 mbit/s: every 100 kB of response takes at least 20ms')
    expect(rc.suspects[0]!.reason).toMatch(/latency grows with response size/)
    const p99 = rc.impact!.latency.find((l) => l.quantile === 'p99')!
    // 1 MiB at 40 mbit/s takes ~210 ms on the wire; 3 a second use about 60% of the cap. The seconds the
    // fault started and ended in also hold fast responses, which keep the lower bound under that.
    expect(p99.changeMs.estimate!).toBeGreaterThan(100)
    expect(p99.changeMs.lower!).toBeGreaterThan(0)
    expect(rc.timeline.some((e) => e.kind === 'degraded')).toBe(true)
  })

  it('a fault that harms nothing (reset on a port nobody uses): no suspect invented, "no cause found"', async () => {
    const target = await startHttpdContainer()
    const rc = await rootCauseOf(
      'gauntlet-rc-harmless-',
      threeSteps('rc-harmless', `${target.url}/index.html`, 20, '1s', {
        type: 'reset',
        port: 9999,
        target: { container: target.name },
      }),
    )
    // Applying the rules may cost the target a slow second on a busy machine (the timeline shows it as
    // degraded when it is, and its last seconds as not recovered): that is measured, but nothing the fault's
    // mechanism causes, so nothing is suspected.
    expect(rc.suspects).toEqual([])
    expect(rc.headline).toMatch(/; no cause found(; recovered at [\d:.]+|; not recovered by run end)?$/)
    expect(rc.impact!.errorClasses).toEqual([])
    expect(rc.timeline.filter((e) => e.kind.startsWith('fault')).map((e) => e.kind)).toEqual([
      'fault-start',
      'fault-end',
    ])
  })
})
