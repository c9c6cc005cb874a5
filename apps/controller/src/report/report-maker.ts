import type { RunComparison, RunReport, RunSummary } from '@gauntlet/contracts'
import { queryCredentials, scrubSecrets } from '../security/redact.js'
import type { ReportAssets } from './report-assets.js'
import { contentTypes, renderReport, type ReportFormat } from './report-formats.js'
import { storedReportInput, summaryReportInput, type ReportStore } from './report-source.js'
import type { RootCausePlan } from './root-cause/root-cause.js'
import { buildRunReport, reportHeader, type ReportInput } from './run-report.js'
import { compareRuns } from './run-comparison.js'

export interface ReportMakerDeps {
  store: ReportStore
  /** The credentials written in a scenario's YAML: never shown in a report. */
  secrets: (scenarioYaml: string) => Promise<string[]> | string[]
  assets: () => ReportAssets
  /** The stored scenario's fault parameters and timeout; undefined when its YAML no longer parses. */
  plan: (scenarioYaml: string) => Promise<RootCausePlan | undefined>
  /** Where a run's HTML report can be opened (a controller's --public-url). */
  reportUrl?: (runId: string) => string
}

export interface ReportRequest {
  format: ReportFormat
  strict?: boolean
  /** Set the run beside this one (`--compare <baseline>`), step by step. */
  baselineId?: string
}

export interface MadeReport {
  body: string
  contentType: string
  /** With a baseline: whether some step regressed beyond its bounds. */
  regressed?: boolean
}

/** A run's report, and its comparison with a baseline when one was asked for, ready to render. */
export interface PreparedReport {
  report: RunReport
  comparison?: RunComparison
}

/** What the API needs of whatever makes reports (here, or on the report thread). */
export interface RunReports {
  storedRun(runId: string, request: ReportRequest): Promise<MadeReport>
  close?(): Promise<void>
}

/** Makes reports of stored runs (the CLI's --db and the controller's GET /api/runs/:id/report share it). */
export class ReportMaker implements RunReports {
  constructor(private readonly deps: ReportMakerDeps) {}

  /** The report of a finished stored run; not_found / conflict when there is none to make. */
  async storedRun(runId: string, request: ReportRequest): Promise<MadeReport> {
    return this.render(await this.prepare(runId, request.baselineId), request)
  }

  /**
   * A stored run's report built once (credentials scrubbed), to render in as many formats as asked: the
   * build decodes every second of the run, the rendering costs milliseconds.
   */
  async prepare(runId: string, baselineId?: string): Promise<PreparedReport> {
    const { input, scenarioYaml } = storedReportInput(this.deps.store, runId)
    // The run's own target too: a target override replaced the scenario's URL, credentials and all.
    const secrets = [...(await this.deps.secrets(scenarioYaml)), ...queryCredentials(input.summary.target)]
    const report = this.build(input, await this.deps.plan(scenarioYaml))
    if (baselineId === undefined) return { report: scrubSecrets(report, secrets) }
    const baseline = storedReportInput(this.deps.store, baselineId)
    secrets.push(
      ...(await this.deps.secrets(baseline.scenarioYaml)),
      ...queryCredentials(baseline.input.summary.target),
    )
    // The baseline is compared step by step: its header and steps are all of its report the comparison reads.
    const comparison = compareRuns(
      {
        report: { run: reportHeader(baselineId, baseline.input.summary), steps: baseline.input.summary.steps },
        windows: baseline.input.windows,
      },
      { report, windows: input.windows },
    )
    return { report: scrubSecrets(report, secrets), comparison: scrubSecrets(comparison, secrets) }
  }

  /** The report of a summary file: per-second charts only when the store holds the run. */
  summary(summary: RunSummary, request: ReportRequest): MadeReport {
    return this.render({ report: this.build(summaryReportInput(summary, this.deps.store), undefined) }, request)
  }

  private build(input: ReportInput, plan: RootCausePlan | undefined): RunReport {
    const url = this.deps.reportUrl?.(input.runId)
    return buildRunReport({ ...input, ...(url ? { reportUrl: url } : {}), ...(plan ? { plan } : {}) })
  }

  /** One format of a prepared report. */
  render({ report, comparison }: PreparedReport, request: ReportRequest): MadeReport {
    const body = renderReport(request.format, report, {
      strict: request.strict === true,
      assets: this.deps.assets,
      ...(comparison ? { comparison } : {}),
    })
    return {
      body,
      contentType: contentTypes[request.format],
      ...(comparison ? { regressed: comparison.regressed } : {}),
    }
  }
}
