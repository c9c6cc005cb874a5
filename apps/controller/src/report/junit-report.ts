import type { RunReport } from '@gauntlet/contracts'
import { reportChecks, type ReportCheck } from './report-checks.js'

export interface JunitOptions {
  /** `--strict`: an insufficient check is a failure; otherwise it is skipped with its reason. */
  strict: boolean
}

/**
 * A run as JUnit XML, for CI gates: one `testsuite` (named after the scenario) with one `testcase` per
 * check of report-checks.ts (the run, each step, each step x threshold, each guard per step). Valid
 * against the Apache Ant JUnit schema (test/fixtures/junit/JUnit.xsd). A check becomes:
 * - pass: a bare testcase;
 * - fail: `<failure>` with the evidence line (message attribute and text);
 * - insufficient: `<failure type="insufficient">` when strict, otherwise `<skipped>` with its reason;
 * - error: `<error>`: nothing sound was measured (a generator-limited or cut-short step, a run with no
 *   verdict), so the gate cannot say the target passed, nor that it failed;
 * - skipped: `<skipped>` (a guard not judged at that step, a dry-run guard's trip).
 */
export function renderJunitReport(report: RunReport, options: JunitOptions): string {
  const { run } = report
  const checks = reportChecks(report)
  const outcomes = checks.map((c) => junitOutcome(c, options.strict))
  const count = (kind: JunitOutcome): number => outcomes.filter((o) => o === kind).length
  const suite = attributes({
    name: run.scenario || 'gauntlet run',
    // The schema's timestamp takes no zone: UTC, to the second.
    timestamp: validTimestamp(run.startedAt),
    hostname: run.agents.filter((a) => a !== 'in-process').join(' ') || 'localhost',
    tests: checks.length,
    failures: count('failure'),
    errors: count('error'),
    skipped: count('skipped'),
    time: seconds(run.durationS),
  })
  const properties: Record<string, string> = {
    'run.id': run.id,
    'run.status': run.status,
    'run.verdict': run.verdict,
    'run.target': run.target,
    'run.capacityRps': run.capacityRps === null ? 'none' : String(run.capacityRps),
    'run.startedAt': run.startedAt,
    'run.durationS': String(run.durationS),
    'run.agents': run.agents.join(', '),
    strict: String(options.strict),
    ...(report.reportUrl ? { 'run.reportUrl': report.reportUrl } : {}),
  }
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite${suite}>`,
    '  <properties>',
    ...Object.entries(properties).map(([name, value]) => `    <property${attributes({ name, value })}/>`),
    '  </properties>',
    ...checks.map((c, i) => testcase(report, c, outcomes[i]!)),
    `  <system-out>${text(summaryText(report))}</system-out>`,
    '  <system-err></system-err>',
    '</testsuite>',
  ]
  return out.join('\n') + '\n'
}

type JunitOutcome = 'pass' | 'failure' | 'error' | 'skipped'

function junitOutcome(check: ReportCheck, strict: boolean): JunitOutcome {
  switch (check.outcome) {
    case 'pass':
      return 'pass'
    case 'fail':
      return 'failure'
    case 'insufficient':
      return strict ? 'failure' : 'skipped'
    case 'error':
      return 'error'
    case 'skipped':
      return 'skipped'
  }
}

function testcase(report: RunReport, check: ReportCheck, outcome: JunitOutcome): string {
  const step = check.kind === 'step' ? report.steps.find((s) => s.index === check.step) : undefined
  const head = attributes({
    name: check.name,
    classname: `${report.run.scenario || 'gauntlet'}.${check.kind}`,
    time: seconds(step?.durationS ?? 0),
  })
  if (outcome === 'pass') return `  <testcase${head}/>`
  const type =
    check.outcome === 'error' ? errorType(report, check) : check.outcome === 'fail' ? check.kind : check.outcome
  const body =
    outcome === 'skipped'
      ? `<skipped${attributes({ message: check.message })}/>`
      : `<${outcome}${attributes({ message: check.message, type })}>${text(check.message)}</${outcome}>`
  return `  <testcase${head}>\n    ${body}\n  </testcase>`
}

/** What kind of error: the step's verdict (generator-limited, aborted), or a run without a verdict. */
function errorType(report: RunReport, check: ReportCheck): string {
  const step = report.steps.find((s) => s.index === check.step)
  return check.kind === 'step' && step ? step.verdict : 'error'
}

function summaryText(report: RunReport): string {
  const { run } = report
  return [
    `gauntlet run ${run.id}: ${run.verdict.toUpperCase()} (${run.capacityRps === null ? 'no step passed' : `capacity ${run.capacityRps} rps`})`,
    ...(report.reportUrl ? [`report: ${report.reportUrl}`] : []),
    ...report.reasons.map((r) => `reason: ${r}`),
    ...report.warnings.map((w) => `warning: ${w}`),
    ...(report.rootCause ? [`root cause: ${report.rootCause.headline}`] : []),
  ].join('\n')
}

const seconds = (s: number): string => (Number.isFinite(s) && s > 0 ? s.toFixed(3) : '0.000')

/** An xs:dateTime without zone or fraction (2026-12-02T13:30:26), as the schema's pattern wants. */
function validTimestamp(iso: string): string {
  const ms = Date.parse(iso)
  return new Date(Number.isNaN(ms) ? 0 : ms).toISOString().slice(0, 19)
}

/** Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF): dropped. */
const illegal = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Text content: the markup characters as entities, illegal characters dropped. */
export function text(value: string): string {
  return value.replace(illegal, '').replace(/[&<>]/g, (c) => entities[c]!)
}

/** ` name="value"` pairs; quotes, markup and whitespace that attribute normalisation would eat are entities. */
export function attributes(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(
      ([name, value]) =>
        ` ${name}="${String(value)
          .replace(illegal, '')
          .replace(/[&<>"'\t\n\r]/g, (c) => entities[c]!)}"`,
    )
    .join('')
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
}
