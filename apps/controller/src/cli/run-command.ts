import { ExitCode, GauntletError, type Decision, type RunSummary, type WindowReport } from '@gauntlet/contracts'
import { constants } from 'node:fs'
import { access, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { assertTargetAllowed, localFaultEngine, targetAllowListFromEnv } from '@gauntlet/agent'
import { parseAllowList, type AllowList } from '@gauntlet/http'
import { defaultHookGraceMs } from '../hooks/run-hooks.js'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { liveDecisionLine, progressLine, stepTable, verdictLines } from '../report/text-report.js'
import { executeRun, type RunDependencies } from '../run/run-service.js'
import { assertScenarioEgress } from '../scenario/egress-check.js'
import { loadScenarioFile } from '../scenario/load-scenario.js'
import type { Scenario } from '../scenario/scenario.js'
import { overrideTarget } from '../scenario/target-override.js'
import { scenarioSecrets, scrubbedLines, scrubSecrets } from '../security/redact.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { parseArgs } from 'node:util'
import { durationFlagMs, withUsage } from './args.js'
import { ControllerClient } from './controller-client.js'
import type { Output } from './output.js'

const usage =
  'gauntlet run <scenario.yaml> [--summary <out.json>] [--db <file>] [--target <url>] [--controller <url>] [--hook-grace 10s] [--strict] [--quiet]'
export const defaultDbFile = '.gauntlet/gauntlet.db'

/**
 * Runs a scenario and exits with its verdict: on the embedded agent by default, or on a controller
 * (`--controller <url>`, GAUNTLET_TOKEN as its bearer token) with the same output and exit codes.
 */
export async function runCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = withUsage(usage, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        summary: { type: 'string' },
        db: { type: 'string' },
        target: { type: 'string' },
        controller: { type: 'string' },
        'hook-grace': { type: 'string' },
        quiet: { type: 'boolean' },
        strict: { type: 'boolean' },
      },
    }),
  )
  if (positionals.length !== 1) throw new GauntletError('usage', `expected one scenario file\nusage: ${usage}`)
  if (values.controller && values.db)
    throw new GauntletError('usage', '--db applies to the embedded run; a controller keeps its own database')
  if (values.controller && values['hook-grace'])
    throw new GauntletError('usage', '--hook-grace applies to the embedded run; a controller has its own')
  // An insufficient result fails the run; a controller's runs take it from the scenario.
  if (values.controller && values.strict)
    throw new GauntletError(
      'usage',
      '--strict applies to the embedded run; on a controller, set decision.insufficient: fail',
    )
  // How long onRollback and postRun may still take once Ctrl-C stops the run.
  const hookGraceMs = durationFlagMs('--hook-grace', values['hook-grace'], defaultHookGraceMs)
  // Validate fully before anything else: an invalid scenario leaves no trace.
  const { scenario: loaded, yaml } = await loadScenarioFile(positionals[0]!)
  const scenario = values.target ? overrideTarget(loaded, values.target, '--target') : loaded
  // The scenario's credentials (target headers) are sent, never printed nor written to the summary.
  const secrets = scenarioSecrets(yaml)
  out = scrubbedLines(out, secrets)
  if (values.summary) await assertWritable(values.summary)
  // The embedded agent's allow-lists, checked before anything is stored (a controller checks its own).
  const hookAllow = hookAllowListFromEnv()
  const targetAllow = targetAllowListFromEnv()
  if (!values.controller) {
    assertTargetAllowed(scenario.target.url, targetAllow)
    assertScenarioEgress(scenario, { targetAllow, hookAllow }, { yaml, file: positionals[0]! })
  }

  const specs = scenario.steps
  // A held step lasts longer than planned and moves later steps: warmup is counted from each step's first window.
  const firstWindowOfStep = new Map<number, number>()
  const onWindow = (w: WindowReport): void => {
    const spec = specs[w.step]
    if (!firstWindowOfStep.has(w.step)) firstWindowOfStep.set(w.step, w.index)
    if (!values.quiet && spec)
      out.stdout(progressLine(w, specs.length, spec.rps, w.index < firstWindowOfStep.get(w.step)! + scenario.warmupS))
    if (w.generatorLimited)
      out.stderr(
        `warning: window ${w.index + 1}s is generator-limited (dropped ${w.dropped}, late sends ${w.lateSends}, max send lag ${w.maxSendLagMs}ms)`,
      )
  }
  // The decision section's gates, trips and dry-run verdicts as they happen (all of them are in the report).
  let previous: Decision | undefined
  const onDecision = (decision: Decision): void => {
    const line = liveDecisionLine(decision, previous)
    previous = decision
    if (line && !values.quiet) out.stdout(line)
  }
  const abort = new AbortController()
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(ExitCode.couldNotRun)
    out.stderr('stopping: reverting and judging what was measured (press Ctrl-C again to quit at once)')
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    out.stdout(
      `gauntlet: ${scenario.name} -> ${scenario.target.method} ${scenario.target.url} (${specs.length} steps${values.controller ? ` on ${values.controller}` : ''})`,
    )
    const summary = values.controller
      ? await runOnController(
          new ControllerClient(values.controller, process.env.GAUNTLET_TOKEN || undefined),
          yaml,
          values.target,
          { window: onWindow, decision: onDecision },
          abort.signal,
        )
      : await runEmbedded(
          values.db ?? defaultDbFile,
          scenario,
          yaml,
          { window: onWindow, decision: onDecision },
          abort.signal,
          out,
          { targetAllow, hooks: { allow: hookAllow, graceMs: hookGraceMs } },
          values.strict === true,
        )
    if (summary.steps.length > 0) out.stdout(`\n${stepTable(summary.steps)}\n`)
    for (const line of verdictLines(summary)) out.stdout(line)
    if (values.summary) await writeFile(values.summary, `${JSON.stringify(scrubSecrets(summary, secrets), null, 2)}\n`)
    return summary.verdict === 'pass'
      ? ExitCode.passed
      : summary.verdict === 'fail'
        ? ExitCode.thresholdFailed
        : ExitCode.couldNotRun
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** What the CLI follows while a run goes on. */
interface Progress {
  window: (window: WindowReport) => void
  decision: (decision: Decision) => void
}

async function runEmbedded(
  db: string,
  scenario: Scenario,
  yaml: string,
  progress: Progress,
  signal: AbortSignal,
  out: Output,
  egress: { targetAllow: AllowList; hooks: NonNullable<RunDependencies['hooks']> },
  strict: boolean,
): Promise<RunSummary> {
  // Faults: the local Docker engine; whatever a crashed earlier run left behind is reverted first.
  const faults = scenario.faults.length > 0 ? localFaultEngine(undefined, (line) => out.stderr(line)) : undefined
  await faults?.recover()
  const store = new SqliteStore(db)
  try {
    return await executeRun(
      {
        store,
        agent: new InProcessAgent(),
        probe: tcpTargetProbe(egress.targetAllow),
        clock: { now: () => new Date() },
        ...egress,
        ...(faults ? { faults } : {}),
      },
      { scenario, yaml, signal, observer: progress, strict },
    )
  } finally {
    store.close()
  }
}

async function runOnController(
  client: ControllerClient,
  yaml: string,
  target: string | undefined,
  progress: Progress,
  signal: AbortSignal,
): Promise<RunSummary> {
  const id = await client.startRun(yaml, target)
  const onAbort = (): void => void client.abortRun(id).catch(() => undefined)
  signal.addEventListener('abort', onAbort, { once: true })
  const lost = `the controller closed run ${id}'s event stream before its verdict; its outcome is unknown (a restarted controller marks it interrupted)`
  try {
    for await (const message of client.follow(id)) {
      if (message.event === 'window') progress.window(message.data)
      if (message.event === 'decision') progress.decision(message.data)
      if (message.event === 'status' && message.data.status !== 'running') {
        if (message.data.summary) return message.data.summary
        throw new GauntletError('internal', `run ${id} ended ${message.data.status} without a summary`)
      }
    }
    throw new GauntletError('target_unreachable', lost)
  } catch (error) {
    if (error instanceof GauntletError) throw error
    // The stream broke (the controller died or the network went): not a bug of ours, and not a verdict.
    throw new GauntletError('target_unreachable', `${lost}: ${(error as Error).message}`)
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** GAUNTLET_HOOK_ALLOW: the hosts hooks may call (default loopback), as the controller reads it. */
export function hookAllowListFromEnv(): AllowList {
  return parseAllowList(process.env.GAUNTLET_HOOK_ALLOW, 'GAUNTLET_HOOK_ALLOW')
}

/** Fails before the run, not after it: a finished run must not end in "cannot write the summary". */
async function assertWritable(file: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK)
  } catch (error) {
    throw new GauntletError(
      'usage',
      `--summary: cannot write ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`,
    )
  }
}
