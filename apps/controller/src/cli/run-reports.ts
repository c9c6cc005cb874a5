import { GauntletError } from '@gauntlet/contracts'
import { constants } from 'node:fs'
import { access, appendFile, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { ReportFormat } from '../report/report-formats.js'
import type { MadeReport } from '../report/report-maker.js'

/** The reports `gauntlet run` writes once the run ends (--report, --junit, --markdown, GITHUB_STEP_SUMMARY). */
export interface RunReportFiles {
  html?: string
  junit?: string
  markdown?: string
  /** GitHub Actions' job summary file: the Markdown report is appended to it. */
  stepSummary?: string
}

export function runReportFiles(
  values: { report?: string | undefined; junit?: string | undefined; markdown?: string | undefined },
  env: NodeJS.ProcessEnv,
): RunReportFiles {
  return {
    ...(values.report ? { html: values.report } : {}),
    ...(values.junit ? { junit: values.junit } : {}),
    ...(values.markdown ? { markdown: values.markdown } : {}),
    ...(env.GITHUB_STEP_SUMMARY ? { stepSummary: env.GITHUB_STEP_SUMMARY } : {}),
  }
}

const flagOf: Record<keyof RunReportFiles, string> = {
  html: '--report',
  junit: '--junit',
  markdown: '--markdown',
  stepSummary: 'GITHUB_STEP_SUMMARY',
}

/** Fails before the run, not after it: a finished run must not end in "cannot write the report". */
export async function assertWritable(file: string, flag: string): Promise<void> {
  const existing = await stat(file).catch(() => undefined)
  if (existing?.isDirectory()) throw new GauntletError('usage', `${flag}: cannot write ${file}: it is a directory`)
  try {
    await access(dirname(resolve(file)), constants.W_OK)
  } catch (error) {
    throw new GauntletError(
      'usage',
      `${flag}: cannot write ${file}: ` +
        ((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message),
    )
  }
}

export async function assertReportFilesWritable(files: RunReportFiles): Promise<void> {
  for (const [key, file] of Object.entries(files) as Array<[keyof RunReportFiles, string]>)
    await assertWritable(file, flagOf[key])
}

/** Makes and writes each report asked for; `make` renders one format of the finished run. */
export async function writeRunReports(
  files: RunReportFiles,
  make: (format: ReportFormat) => Promise<MadeReport>,
): Promise<string[]> {
  const written: string[] = []
  if (files.html) written.push(await write(files.html, await make('html')))
  if (files.junit) written.push(await write(files.junit, await make('junit')))
  if (files.markdown || files.stepSummary) {
    const markdown = await make('md')
    if (files.markdown) written.push(await write(files.markdown, markdown))
    if (files.stepSummary) {
      // A job summary collects every step's Markdown: appended, never replaced.
      await appendFile(files.stepSummary, `${markdown.body.replace(/\n*$/, '')}\n\n`)
      written.push(files.stepSummary)
    }
  }
  return written
}

async function write(file: string, made: MadeReport): Promise<string> {
  await writeFile(file, made.body)
  return file
}
