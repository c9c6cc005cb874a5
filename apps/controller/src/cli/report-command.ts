import { ExitCode, GauntletError } from '@gauntlet/contracts'
import { writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { loadReportAssets } from '../report/report-assets.js'
import { localPlan } from '../report/root-cause-plan.js'
import { ReportMaker, type MadeReport, type ReportRequest } from '../report/report-maker.js'
import { parseReportFormat, reportFormats } from '../report/report-formats.js'
import { scenarioSecrets } from '../security/redact.js'
import { SqliteStore } from '../storage/sqlite-store.js'
import { defineCommand, parseCommand, printHelp, usageError } from './command-spec.js'
import { ControllerClient } from './controller-client.js'
import type { Output } from './output.js'
import { assertWritable } from './run-reports.js'
import { readSummaryFile } from './summary-file.js'
import { defaultDbFile } from './run-command.js'

export const reportSpec = defineCommand({
  name: 'report',
  summary: "makes a stored run's report: HTML with charts, Markdown, JUnit XML or JSON",
  synopsis: ['<run-id | summary.json> [options]', '--compare <baseline-run> <run> [options]'],
  positionals: true,
  flags: {
    format: {
      type: 'string',
      value: reportFormats.join('|'),
      defaultText: 'from -o (.html, .md, .xml, .json), else md',
      description: 'what to make',
    },
    output: {
      type: 'string',
      short: 'o',
      value: '<file>',
      description: 'write the report to <file> (default: stdout)',
    },
    db: {
      type: 'string',
      value: '<file>',
      defaultText: defaultDbFile,
      description: 'SQLite file the run is stored in',
    },
    controller: {
      type: 'string',
      value: '<url>',
      description: 'ask this controller for the report instead of reading a local database',
    },
    compare: {
      type: 'string',
      value: '<baseline-run>',
      description: 'set the run beside this baseline run, step by step (rate, p50/p90/p99, error rate)',
    },
    'fail-on-regression': {
      type: 'boolean',
      description: 'with --compare: exit 1 when a step regressed beyond its 95% bounds (a release gate)',
    },
    strict: { type: 'boolean', description: 'JUnit: an insufficient result is a failure, not skipped' },
  },
  env: { GAUNTLET_TOKEN: "the controller's bearer token (with --controller)" },
  examples: [
    'gauntlet report 20261202T101500Z-abc123 -o run.html',
    'gauntlet report summary.json --format md >> "$GITHUB_STEP_SUMMARY"',
    'gauntlet report --compare <last-release-run> <this-run> --fail-on-regression -o compare.md',
    'gauntlet report <run> --controller http://127.0.0.1:8080 --format junit -o results.xml',
  ],
  exitCodes: {
    [ExitCode.passed]: 'the report was made (and, with --fail-on-regression, no step regressed)',
    [ExitCode.thresholdFailed]: 'with --fail-on-regression: a step regressed beyond its bounds',
    [ExitCode.invalidInput]: 'usage, an unknown run, or an unreadable summary file',
    [ExitCode.couldNotRun]:
      'the run has no report yet (still running, or ended without a summary), or the controller is out of reach',
  },
  notes:
    'A report is made from what the run stored (windows, decisions, faults, hooks, target metrics), so it can be ' +
    'made again at any time. A summary file alone gives the step table, decisions and faults; its per-second ' +
    'charts come from the database when it holds the run.',
})

export async function reportCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(reportSpec, argv)
  if (parsed.help) return printHelp(reportSpec, out)
  const { values, positionals } = parsed
  if (positionals.length !== 1) throw usageError(reportSpec, 'expected one run id or summary file')
  if (values.controller && values.db) throw usageError(reportSpec, '--db and --controller exclude each other')
  if (values['fail-on-regression'] && !values.compare)
    throw usageError(reportSpec, '--fail-on-regression needs --compare <baseline-run>')
  const format = parseReportFormat(values.format ?? formatOfFile(values.output) ?? 'md', '--format')
  const request: ReportRequest = {
    format,
    strict: values.strict === true,
    ...(values.compare ? { baselineId: values.compare } : {}),
  }
  const subject = positionals[0]!
  if (values.output) await assertWritable(values.output, '--output')
  const made = values.controller
    ? await new ControllerClient(values.controller, process.env.GAUNTLET_TOKEN || undefined).report(subject, request)
    : await reportFromDatabase(subject, values.db, request)
  if (values.output) await writeFile(values.output, made.body)
  else out.stdout(made.body.replace(/\n$/, ''))
  if (made.regressed && values['fail-on-regression']) {
    out.stderr(`gauntlet: ${subject} regressed against ${values.compare} beyond sampling error`)
    return ExitCode.thresholdFailed
  }
  return ExitCode.passed
}

/** `-o run.html` asks for HTML. */
export function formatOfFile(file: string | undefined): string | undefined {
  const extension = file?.match(/\.([a-z]+)$/i)?.[1]?.toLowerCase()
  return extension && ['html', 'htm', 'md', 'markdown', 'xml', 'json'].includes(extension) ? extension : undefined
}

async function reportFromDatabase(
  subject: string,
  db: string | undefined,
  request: ReportRequest,
): Promise<MadeReport> {
  const summaryFile = subject.endsWith('.json') ? await readSummaryFile(subject) : undefined
  const file = db ?? defaultDbFile
  // A summary file needs no database; a run id does.
  if (!summaryFile && !existsSync(file))
    throw new GauntletError('not_found', `no database at ${file} (--db names the one the run was stored in)`)
  const store = existsSync(file) ? new SqliteStore(file) : undefined
  try {
    const maker = new ReportMaker({
      store: store ?? { getRun: () => undefined, windows: () => [], targetSeries: () => ({}) },
      secrets: scenarioSecrets,
      assets: loadReportAssets,
      plan: localPlan,
    })
    if (summaryFile) {
      if (request.baselineId) throw new GauntletError('usage', '--compare takes run ids, not a summary file')
      try {
        return maker.summary(summaryFile, request)
      } catch (error) {
        // A hand-edited or foreign file: say so, never a stack trace.
        if (error instanceof GauntletError) throw error
        throw new GauntletError(
          'usage',
          `${subject} is not a run summary this version can read (${(error as Error).message})`,
        )
      }
    }
    return await maker.storedRun(subject, request)
  } finally {
    store?.close()
  }
}
