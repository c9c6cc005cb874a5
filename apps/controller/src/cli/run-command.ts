import { ExitCode, GauntletError } from '@gauntlet/contracts'
import { constants } from 'node:fs'
import { access, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { progressLine, stepTable, verdictLines } from '../report/text-report.js'
import { executeRun, stepSpecs } from '../run/run-service.js'
import { loadScenarioFile } from '../scenario/load-scenario.js'
import { overrideTarget } from '../scenario/target-override.js'
import { SqliteRunStore } from '../storage/sqlite-run-store.js'
import { parseArgs } from 'node:util'
import { withUsage } from './args.js'
import type { Output } from './output.js'

const usage = 'gauntlet run <scenario.yaml> [--summary <out.json>] [--db <file>] [--target <url>]'
export const defaultDbFile = '.gauntlet/gauntlet.db'

export async function runCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = withUsage(usage, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: { summary: { type: 'string' }, db: { type: 'string' }, target: { type: 'string' }, quiet: { type: 'boolean' } },
    }),
  )
  if (positionals.length !== 1) throw new GauntletError('usage', `expected one scenario file\nusage: ${usage}`)
  const file = positionals[0]!
  // Validate fully before touching the database: an invalid scenario leaves no trace.
  const { scenario: loaded, yaml } = await loadScenarioFile(file)
  const scenario = values.target ? overrideTarget(loaded, values.target, '--target') : loaded

  if (values.summary) await assertWritable(values.summary)

  const store = new SqliteRunStore(values.db ?? defaultDbFile)
  const specs = stepSpecs(scenario)
  const abort = new AbortController()
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(ExitCode.couldNotRun)
    out.stderr('stopping: reverting and judging what was measured (press Ctrl-C again to quit at once)')
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    out.stdout(`gauntlet: ${scenario.name} -> ${scenario.target.method} ${scenario.target.url} (${specs.length} steps)`)
    const summary = await executeRun(
      { store, agent: new InProcessAgent(), probe: tcpTargetProbe, clock: { now: () => new Date() } },
      {
        scenario,
        yaml,
        signal: abort.signal,
        observer: {
          window: (w) => {
            const spec = specs[w.step]
            if (!values.quiet && spec) out.stdout(progressLine(w, specs.length, spec.rps, w.index < spec.startS + spec.warmupS))
            if (w.generatorLimited) out.stderr(`warning: window ${w.index + 1}s is generator-limited (dropped ${w.dropped}, late sends ${w.lateSends}, max send lag ${w.maxSendLagMs}ms)`)
          },
        },
      },
    )
    if (summary.steps.length > 0) out.stdout(`\n${stepTable(summary.steps)}\n`)
    for (const line of verdictLines(summary)) out.stdout(line)
    if (values.summary) await writeFile(values.summary, `${JSON.stringify(summary, null, 2)}\n`)
    return summary.verdict === 'pass' ? ExitCode.passed : summary.verdict === 'fail' ? ExitCode.thresholdFailed : ExitCode.couldNotRun
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    store.close()
  }
}

/** Fails before the run, not after it: a finished run must not end in "cannot write the summary". */
async function assertWritable(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK)
  } catch (error) {
    throw new GauntletError('usage', `--summary: cannot write ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`)
  }
}
