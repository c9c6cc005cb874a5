import type { RunSummary } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'

const demoScript = new URL('../../scripts/demo.mjs', import.meta.url).pathname

/** Runs `npm run demo`'s script as a user does, in a directory with no .gauntlet yet. */
async function runDemo(): Promise<{ cwd: string; code: number | null; output: string }> {
  const cwd = tempDir('gauntlet-demo-')
  const child = spawn(process.execPath, [demoScript], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { cwd, code, output: `${stdout}\n${stderr}` }
}

/** The README's first quick-start command. */
describe('npm run demo', () => {
  it('starts the demo target, finds its knee at 300 rps, stores the run and exits 0', async () => {
    let demo = await runDemo()
    // A machine too busy for the generator to keep 100-200 rps ends the run at that step, generator-limited
    // (exit 3, rightly: the client, not the target, was the limit). That names the machine, not the demo:
    // one more try, and only for that reason.
    if (demo.code === 3 && /generator-limited/i.test(demo.output)) {
      console.log(`demo run was generator-limited on this busy machine; once more:\n${demo.output}`)
      demo = await runDemo()
    }
    const { cwd, code, output } = demo
    // On failure, what the demo printed says why (a run's error, or the signal that ended it).
    expect(code, output).toBe(0)
    expect(output).toMatch(/verdict: FAIL \(capacity 300 rps/)
    const summary = JSON.parse(readFileSync(join(cwd, '.gauntlet', 'demo-summary.json'), 'utf8')) as RunSummary
    expect(summary.capacityRps).toBe(300)
    expect(summary.steps.slice(0, 3).map((s) => s.verdict)).toEqual(['pass', 'pass', 'pass'])
    expect(summary.steps[3]).toMatchObject({ plannedRps: 400, verdict: 'fail' })
    expect(summary.steps[3]!.errorsByClass.status['503']).toBeGreaterThan(0)
    // The HTML report to open afterwards: the run's charts and steps, in one file.
    const report = readFileSync(join(cwd, '.gauntlet', 'demo-report.html'), 'utf8')
    expect(report).toContain(summary.runId)
    expect(report).toContain('id="gauntlet-chart-data"')
  })
})
