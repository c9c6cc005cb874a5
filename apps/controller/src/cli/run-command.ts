import {
  ExitCode,
  GauntletError,
  type Decision,
  type Problem,
  type RunSummary,
  type WindowReport,
} from '@gauntlet/contracts'
import { writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { assertTargetAllowed, targetAllowListFromEnv } from '@gauntlet/agent/generator'
import type { InjectorChoice } from '@gauntlet/faults'
import { parseAllowList, type AllowList } from '@gauntlet/http'
import { defaultHookGraceMs } from '../hooks/run-hooks.js'
import { InProcessAgent } from '../agents/in-process-agent.js'
import { tcpTargetProbe } from '../agents/tcp-target-probe.js'
import { insecureTlsWarning } from '../report/run-warnings.js'
import type { ReportFormat } from '../report/report-formats.js'
import type { MadeReport, PreparedReport, ReportMaker } from '../report/report-maker.js'
import { liveDecisionLine, progressLine, stepTable, verdictLines } from '../report/text-report.js'
import { executeRun, type RunDependencies } from '../run/run-service.js'
import { assertScenarioEgress, locateProblems } from '../scenario/egress-check.js'
import { loadScenarioFile } from '../scenario/load-scenario.js'
import { fileSources, withRunInputs } from '../scenario/run-inputs.js'
import { resolveScenarioFiles } from '../scenario/scenario-files.js'
import type { Scenario } from '../scenario/scenario.js'
import { overrideTarget } from '../scenario/target-override.js'
import { queryCredentials, scenarioSecrets, scrubbedLines, scrubSecrets } from '../security/redact.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { durationFlagMs, workersFlag } from '../config/flag-values.js'
import { defineCommand, durationText, parseCommand, printHelp, usageError } from './command-spec.js'
import type { ControllerClient } from './controller-client.js'
import { injectorFlag } from './injector-flag.js'
import type { Output } from './output.js'
import {
  assertReportFilesWritable,
  assertWritable,
  runReportFiles,
  writeRunReports,
  type RunReportFiles,
} from './run-reports.js'

export const defaultDbFile = '.gauntlet/gauntlet.db'

export const runSpec = defineCommand({
  name: 'run',
  summary: 'runs a scenario step by step and exits with its verdict',
  synopsis: ['<scenario.yaml> [options]'],
  positionals: true,
  flags: {
    summary: { type: 'string', value: '<file>', description: 'write the run summary as JSON to <file>' },
    report: {
      type: 'string',
      value: '<file.html>',
      description: 'write the HTML report (charts, steps, decisions, root cause) to <file.html> when the run ends',
    },
    junit: {
      type: 'string',
      value: '<file.xml>',
      description: 'write JUnit XML (a testcase per step and threshold, per guard) to <file.xml>',
    },
    markdown: { type: 'string', value: '<file.md>', description: 'write the Markdown report to <file.md>' },
    db: {
      type: 'string',
      value: '<file>',
      defaultText: defaultDbFile,
      description: 'SQLite file the embedded run stores its windows and verdict in',
    },
    target: { type: 'string', value: '<url>', description: "replace the scenario's target URL" },
    controller: {
      type: 'string',
      value: '<url>',
      description:
        'run on this controller instead of the embedded agent, following its events (a dropped stream is ' +
        'reopened and caught up)',
    },
    'hook-grace': {
      type: 'string',
      value: '<duration>',
      defaultText: durationText(defaultHookGraceMs / 1000),
      description: 'how long onRollback and postRun hooks may still take once Ctrl-C stops the run',
    },
    quiet: { type: 'boolean', description: 'print no per-second progress, only the step table and the verdict' },
    injector: {
      type: 'string',
      value: 'auto|holder|host',
      defaultText: 'auto (GAUNTLET_FAULT_INJECTOR)',
      description:
        "who holds the scenario's faults: holder containers (the Gauntlet image, through the Docker API) or " +
        "this host's nsenter (root); auto: holders when the holder image exists",
    },
    workers: {
      type: 'string',
      value: '<n>',
      defaultText: 'CPU cores - 1, at least 1',
      description:
        "the embedded run's load threads (1 to 64): each sends its share of the schedule, interleaved so the sends stay " +
        'evenly spread, and their windows are merged before they are reported',
    },
    strict: {
      type: 'boolean',
      description:
        'fail the run when a threshold passes only on its point estimate (as decision.insufficient: fail in ' +
        'the scenario)',
    },
  },
  env: {
    GAUNTLET_TOKEN: "the controller's bearer token (with --controller)",
    GAUNTLET_TARGET_ALLOW: 'hosts the embedded run may load (default: loopback)',
    GAUNTLET_HOOK_ALLOW: 'hosts hooks may call (default: loopback)',
    GAUNTLET_FAULT_INJECTOR: 'auto, holder or host (--injector wins)',
    GAUNTLET_HOLDER_IMAGE: 'the image fault holders run (default gauntlet:local)',
    GITHUB_STEP_SUMMARY: 'when set (GitHub Actions), the Markdown report is appended to this file',
  },
  examples: [
    'gauntlet run checkout.yaml --summary summary.json',
    'gauntlet run checkout.yaml --report run.html --junit results.xml --markdown summary.md',
    'gauntlet run checkout.yaml --controller http://127.0.0.1:8080 --target http://staging:3000/orders',
  ],
  exitCodes: {
    [ExitCode.passed]: 'the run passed',
    [ExitCode.thresholdFailed]: 'a threshold failed',
    [ExitCode.invalidInput]: 'invalid scenario or usage (nothing was sent)',
    [ExitCode.couldNotRun]: 'the run could not be carried out, or was stopped (no verdict)',
  },
  notes: 'Ctrl-C stops the run, reverts its faults and judges what was measured (a second Ctrl-C quits at once).',
})

/**
 * Runs a scenario and exits with its verdict: on the embedded agent by default, or on a controller
 * (`--controller <url>`, GAUNTLET_TOKEN as its bearer token) with the same output and exit codes.
 */
export async function runCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(runSpec, argv)
  if (parsed.help) return printHelp(runSpec, out)
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw usageError(runSpec, 'expected one scenario file')
  if (values.controller && values.db)
    throw new GauntletError('usage', '--db applies to the embedded run; a controller keeps its own database')
  if (values.controller && values.injector)
    throw new GauntletError('usage', '--injector applies to the embedded run; a controller has its own agents')
  const injector = values.injector ? injectorFlag(values.injector) : undefined
  if (values.controller && values['hook-grace'])
    throw new GauntletError('usage', '--hook-grace applies to the embedded run; a controller has its own')
  // An insufficient result fails the run; a controller's runs take it from the scenario.
  if (values.controller && values.strict)
    throw new GauntletError(
      'usage',
      '--strict applies to the embedded run; on a controller, set decision.insufficient: fail',
    )
  if (values.controller && values.workers)
    throw new GauntletError('usage', '--workers applies to the embedded run; a controller has its own agents')
  const workers = workersFlag('--workers', values.workers)
  // How long onRollback and postRun may still take once Ctrl-C stops the run.
  const hookGraceMs = durationFlagMs('--hook-grace', values['hook-grace'], defaultHookGraceMs)
  // Validate fully before anything else: an invalid scenario leaves no trace.
  const { scenario: written, yaml } = await loadScenarioFile(positionals[0]!)
  // Files it names (target.tls, data sets, body files) are read here, relative to the scenario file, and
  // ${env.NAME} from this shell's environment; a controller reads its own.
  const root = { scenarioDir: dirname(positionals[0]!) }
  const locate = (problems: Problem[]): Problem[] => locateProblems(problems, yaml)
  const loaded = values.controller
    ? written
    : await withRunInputs(
        await resolveScenarioFiles(written, root, positionals[0]!, locate),
        fileSources(root, (name) => process.env[name]),
        positionals[0],
        locate,
      )
  const scenario = values.target ? overrideTarget(loaded, values.target, '--target') : loaded
  // The scenario's credentials (target headers) are sent, never printed nor written to the summary.
  // A --target override's query credentials too (`?api_key=...`): it replaced the scenario's URL.
  // And the client key read from a file (target.tls.key): a secret wherever it came from.
  const secrets = [
    ...scenarioSecrets(yaml),
    ...queryCredentials(values.target),
    ...(scenario.target.tls?.key !== undefined ? [scenario.target.tls.key] : []),
    // ${env.NAME} values sent with the requests.
    ...(scenario.inputs?.secrets ?? []),
  ]
  out = scrubbedLines(out, secrets)
  if (values.summary) await assertWritable(values.summary, '--summary')
  const reportFiles = runReportFiles(values, process.env)
  await assertReportFilesWritable(reportFiles)
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
        `warning: window ${w.index + 1}s is generator-limited (dropped ${w.dropped}, late ` +
          `sends ${w.lateSends}, max send lag ${w.maxSendLagMs}ms)`,
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
      `gauntlet: ${scenario.name} -> ${scenario.target.method} ${scenario.target.url} (${specs.length} ` +
        `steps${values.controller ? ` on ${values.controller}` : ''})`,
    )
    if (scenario.target.tls?.insecure) out.stderr(`warning: ${insecureTlsWarning}`)
    const summary = values.controller
      ? await runOnController(
          await controllerClient(values.controller),
          yaml,
          values.target,
          { window: onWindow, decision: onDecision },
          abort.signal,
          out,
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
          injector,
          workers,
        )
    if (summary.steps.length > 0) out.stdout(`\n${stepTable(summary.steps)}\n`)
    for (const line of verdictLines(summary)) out.stdout(line)
    if (values.summary) await writeFile(values.summary, `${JSON.stringify(scrubSecrets(summary, secrets), null, 2)}\n`)
    const verdictExit =
      summary.verdict === 'pass'
        ? ExitCode.passed
        : summary.verdict === 'fail'
          ? ExitCode.thresholdFailed
          : ExitCode.couldNotRun
    const strict = values.strict === true
    const write = (make: (format: ReportFormat) => Promise<MadeReport>): Promise<boolean> =>
      reportRun(summary.runId, reportFiles, out, make)
    const reported = values.controller
      ? await write(async (format) =>
          (await controllerClient(values.controller!)).report(summary.runId, { format, strict }),
        )
      : await writeStoredRunReports(values.db ?? defaultDbFile, summary.runId, strict, write)
    // A report that could not be written fails a passing run (CI needs it); a failed run keeps its own code.
    return reported || verdictExit !== ExitCode.passed ? verdictExit : ExitCode.couldNotRun
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * A client of the controller at `url` (GAUNTLET_TOKEN as its bearer token). Loaded on use: an embedded run
 * has no use for it (nor for the report renderers it imports).
 */
async function controllerClient(url: string): Promise<ControllerClient> {
  const { ControllerClient } = await import('./controller-client.js')
  return new ControllerClient(url, process.env.GAUNTLET_TOKEN || undefined)
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
  injector: InjectorChoice | undefined,
  workers: number,
): Promise<RunSummary> {
  // Faults: the local Docker engine; whatever a crashed earlier run left behind is reverted first. The
  // engine is loaded only for a scenario with faults (its ~30 modules are start-up CPU every run pays).
  const faults =
    scenario.faults.length > 0
      ? (await import('@gauntlet/faults')).localFaultEngine({
          log: (line) => out.stderr(line),
          ...(injector ? { injector } : {}),
        })
      : undefined
  await faults?.recover()
  const store = new SqliteStore(db)
  try {
    const summary = await executeRun(
      {
        store,
        agent: new InProcessAgent(workers),
        probe: tcpTargetProbe(egress.targetAllow),
        clock: { now: () => new Date() },
        ...egress,
        ...(faults ? { faults } : {}),
      },
      { scenario, yaml, signal, observer: progress, strict },
    )
    return summary
  } finally {
    store.close()
    await faults?.stop().catch(() => undefined)
  }
}

async function runOnController(
  client: ControllerClient,
  yaml: string,
  target: string | undefined,
  progress: Progress,
  signal: AbortSignal,
  out: Output,
): Promise<RunSummary> {
  const id = await client.startRun(yaml, target)
  const onAbort = (): void => void client.abortRun(id).catch(() => undefined)
  signal.addEventListener('abort', onAbort, { once: true })
  // A dropped stream is reopened and caught up; each window and the verdict still print once.
  const onReconnect = ({ attempt, delayMs, reason }: { attempt: number; delayMs: number; reason: string }): void =>
    out.stderr(`the event stream of run ${id} dropped (${reason}); reconnecting in ${delayMs}ms (attempt ${attempt})`)
  try {
    for await (const message of client.follow(id, { onReconnect })) {
      if (message.event === 'window') progress.window(message.data)
      if (message.event === 'decision') progress.decision(message.data)
      if (message.event === 'warning') out.stderr(`warning: ${message.data.text}`)
      if (message.event === 'status' && message.data.status !== 'running') {
        if (message.data.summary) return message.data.summary
        // Interrupted by a controller restart, say: the run ended without a verdict.
        throw new GauntletError('conflict', `run ${id} ended ${message.data.status} without a verdict`)
      }
    }
    throw new GauntletError('internal', `run ${id}'s event stream ended without a final status`)
  } catch (error) {
    if (!(error instanceof GauntletError) || error.code !== 'target_unreachable') throw error
    // The controller stayed out of reach: not a bug of ours, and not a verdict.
    throw new GauntletError(
      'target_unreachable',
      `${error.message}; run ${id}'s outcome is unknown (GET /api/runs/${id} shows it once the controller answers)`,
    )
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** GAUNTLET_HOOK_ALLOW: the hosts hooks may call (default loopback), as the controller reads it. */
export function hookAllowListFromEnv(): AllowList {
  return parseAllowList(process.env.GAUNTLET_HOOK_ALLOW, 'GAUNTLET_HOOK_ALLOW')
}

/** Writes the reports asked for; false (with the reason printed) when one could not be made or written. */
async function reportRun(
  runId: string,
  files: RunReportFiles,
  out: Output,
  make: (format: ReportFormat) => Promise<MadeReport>,
): Promise<boolean> {
  if (Object.keys(files).length === 0) return true
  try {
    for (const file of await writeRunReports(files, make)) out.stderr(`report: ${file}`)
    return true
  } catch (error) {
    out.stderr(`gauntlet: the reports of run ${runId} could not be written: ${(error as Error).message}`)
    return false
  }
}

/**
 * The reports of a run the embedded agent stored in `db`: the report is built once (it decodes every
 * second of the run) and rendered in each format asked for. The database is opened on the first format
 * (inside `write`, so a failure to open it is reported like any other).
 */
async function writeStoredRunReports(
  db: string,
  runId: string,
  strict: boolean,
  write: (make: (format: ReportFormat) => Promise<MadeReport>) => Promise<boolean>,
): Promise<boolean> {
  let store: SqliteStore | undefined
  let prepared: Promise<{ maker: ReportMaker; report: PreparedReport }> | undefined
  const prepare = async (): Promise<{ maker: ReportMaker; report: PreparedReport }> => {
    store = new SqliteStore(db)
    // The renderers load only when a report is asked for: most runs in CI print the step table and stop.
    const [{ ReportMaker }, { loadReportAssets }, { localPlan }] = await Promise.all([
      import('../report/report-maker.js'),
      import('../report/report-assets.js'),
      import('../report/root-cause-plan.js'),
    ])
    const maker = new ReportMaker({ store, secrets: scenarioSecrets, assets: loadReportAssets, plan: localPlan })
    return { maker, report: await maker.prepare(runId) }
  }
  try {
    return await write(async (format) => {
      const { maker, report } = await (prepared ??= prepare())
      return maker.render(report, { format, strict })
    })
  } finally {
    store?.close()
  }
}
