import type { RunReport, RunSummary } from '@gauntlet/contracts'
import type { FastifyInstance } from 'fastify'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { inProcessController } from '../helpers/in-process-controller.js'
import { startRecordingServer, type RecordingServer } from '../helpers/recording-server.js'

const secret = 'Bearer report-secret-0f9e8d7c'
/** Credentials in URLs: a --target override's query, a hook URL's query. Sent where they belong, never shown. */
const overrideKey = 'override-key-5a4b3c2d'
const hookToken = 'hook-token-9e8f7a6b'

/** A short real run; `latencyMs` is the demo target's base latency. */
// Few sends a second: with 2 s steps, one second a loaded CI host delays makes a step generator-limited
// (exit 3), and these tests are about the reports, not the generator (at 40/60 rps a CI run did that).
const scenario = (url: string, name: string): string =>
  `name: ${name}
target: { url: "${url}/orders", headers: { authorization: "${secret}" } }
load:
  steps: [{ rps: 20, duration: 2s }, { rps: 30, duration: 2s }]
thresholds: [p99 < 500ms, error_rate < 1%]
`

/** `gauntlet run` and `gauntlet report` on real runs stored in a real SQLite file. */
describe('reports from the CLI', () => {
  let fast: ChildServer
  let slow: ChildServer
  let dir: string
  let db: string
  let fastRun: string
  let slowRun: string
  let hooks: RecordingServer

  beforeAll(async () => {
    ;[fast, slow] = await Promise.all([startDemoTarget('--latency', '2'), startDemoTarget('--latency', '40')])
    dir = tempDir('gauntlet-reports-')
    db = join(dir, 'runs.db')
    const stepSummary = join(dir, 'step-summary.md')
    writeFileSync(stepSummary, '# earlier step\n')
    hooks = await startRecordingServer('127.0.0.1', (_request, response) => response.end('ok'))
    const withHook = `${scenario(fast.url, 'orders')}hooks: { postRun: [{ url: "${hooks.url}/done?token=${hookToken}" }] }\n`
    const first = await runCli(
      [
        'run',
        writeScenario(dir, withHook),
        '--target',
        `${fast.url}/orders?api_key=${overrideKey}`,
        '--db',
        db,
        '--quiet',
        '--summary',
        join(dir, 'summary.json'),
        '--report',
        join(dir, 'run.html'),
        '--junit',
        join(dir, 'run.xml'),
        '--markdown',
        join(dir, 'run.md'),
      ],
      { env: { GITHUB_STEP_SUMMARY: stepSummary } },
    )
    expect(first.stderr).toContain(`report: ${join(dir, 'run.html')}`)
    expect(first.code).toBe(0)
    fastRun = (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary).runId
    const second = await runCli([
      'run',
      writeScenario(dir, scenario(slow.url, 'orders'), 'slow.yaml'),
      '--db',
      db,
      '--quiet',
      '--summary',
      join(dir, 'slow.json'),
    ])
    expect(second.code).toBe(0)
    slowRun = (JSON.parse(readFileSync(join(dir, 'slow.json'), 'utf8')) as RunSummary).runId
  }, 60_000)

  afterAll(async () => {
    await Promise.all([fast?.stop(), slow?.stop(), hooks?.close()])
  })

  it('writes the HTML, JUnit and Markdown reports a run asks for, and appends the Markdown to the job summary', () => {
    const html = readFileSync(join(dir, 'run.html'), 'utf8')
    expect(html).toMatch(/^<!doctype html>/i)
    expect(html).toContain(fastRun)
    expect(readFileSync(join(dir, 'run.xml'), 'utf8')).toContain('<testsuite')
    const markdown = readFileSync(join(dir, 'run.md'), 'utf8')
    expect(markdown).toContain(fastRun)
    const jobSummary = readFileSync(join(dir, 'step-summary.md'), 'utf8')
    // Appended, never replaced: the earlier step's summary is still there, the run's report after it.
    expect(jobSummary.startsWith('# earlier step\n')).toBe(true)
    expect(jobSummary).toContain(markdown.trim())
    // The target's credentials (a header, the override's query) and the hook's are sent, never shown.
    expect(hooks.requests[0]?.path).toBe(`/done?token=${hookToken}`)
    for (const file of ['run.html', 'run.xml', 'run.md', 'step-summary.md', 'summary.json']) {
      const text = readFileSync(join(dir, file), 'utf8')
      for (const credential of ['report-secret-0f9e8d7c', overrideKey, hookToken])
        expect(text, `${file}: ${credential}`).not.toContain(credential)
    }
  })

  it('makes the report of a stored run again later, in the format -o names or --format asks', async () => {
    const out = join(dir, 'again.md')
    const made = await runCli(['report', fastRun, '--db', db, '-o', out])
    expect(made).toMatchObject({ code: 0 })
    expect(readFileSync(out, 'utf8')).toContain(fastRun)
    const junit = await runCli(['report', fastRun, '--db', db, '--format', 'junit'])
    expect(junit.code).toBe(0)
    expect(junit.stdout).toMatch(/^<\?xml/)
    const json = await runCli(['report', fastRun, '--db', db, '--format', 'json'])
    const report = JSON.parse(json.stdout) as RunReport
    expect(report.run.id).toBe(fastRun)
    expect(report.chart.seconds.t).toEqual([0, 1, 2, 3])
    expect(report.chart.seconds.planned).toEqual([20, 20, 30, 30])
    expect(report.chart.steps.map((s) => [s.startS, s.endS])).toEqual([
      [0, 2],
      [2, 4],
    ])
    expect(report.rootCause).toBeNull()
    for (const credential of ['report-secret-0f9e8d7c', overrideKey, hookToken])
      expect(json.stdout).not.toContain(credential)
  })

  it('makes a report from a summary file, with per-second charts when the database holds the run', async () => {
    const alone = await runCli(['report', join(dir, 'summary.json'), '--db', join(dir, 'none.db'), '--format', 'json'])
    expect(alone.code).toBe(0)
    const fromSummary = JSON.parse(alone.stdout) as RunReport
    expect(fromSummary.steps).toHaveLength(2)
    expect(fromSummary.chart.seconds.t).toEqual([])
    expect(existsSync(join(dir, 'none.db'))).toBe(false)
    const withDb = JSON.parse(
      (await runCli(['report', join(dir, 'summary.json'), '--db', db, '--format', 'json'])).stdout,
    ) as RunReport
    expect(withDb.chart.seconds.t).toHaveLength(4)
  })

  it('refuses what it cannot report, naming the cause, with exit 2', async () => {
    writeFileSync(join(dir, 'not-json.json'), '{ nope')
    writeFileSync(join(dir, 'other.json'), '{"hello": 1}')
    const cases: Array<[string[], RegExp]> = [
      [['report', 'no-such-run', '--db', db], /no run with id "no-such-run"/],
      [['report', fastRun, '--db', join(dir, 'missing.db')], /no database at .*missing\.db/],
      [['report', join(dir, 'not-json.json')], /not-json\.json is not JSON/],
      [['report', join(dir, 'other.json')], /other\.json is not a run summary/],
      [['report', fastRun, '--db', db, '--format', 'pdf'], /--format: "pdf" is not a report format/],
      [['report', fastRun, '--db', db, '--fail-on-regression'], /--fail-on-regression needs --compare/],
    ]
    for (const [args, message] of cases) {
      const result = await runCli(args)
      expect(result.stderr, args.join(' ')).toMatch(message)
      expect(result.code, args.join(' ')).toBe(2)
    }
  })

  it('compares two runs step by step and, with --fail-on-regression, exits 1 only on a regression', async () => {
    const regressed = await runCli([
      'report',
      '--compare',
      fastRun,
      slowRun,
      '--db',
      db,
      '--fail-on-regression',
      '--format',
      'json',
    ])
    expect(regressed.stderr).toContain(`${slowRun} regressed against ${fastRun}`)
    expect(regressed.code).toBe(1)
    const comparison = (
      JSON.parse(regressed.stdout) as {
        comparison: { steps: Array<{ metrics: Array<{ metric: string; verdict: string }> }> }
      }
    ).comparison
    // 40 ms more of base latency is far beyond sampling error at every quantile.
    expect(comparison.steps[0]!.metrics.find((m) => m.metric === 'p50')!.verdict).toBe('regressed')
    const improved = await runCli([
      'report',
      '--compare',
      slowRun,
      fastRun,
      '--db',
      db,
      '--fail-on-regression',
      '-o',
      join(dir, 'compare.md'),
    ])
    expect(improved.code).toBe(0)
    expect(readFileSync(join(dir, 'compare.md'), 'utf8')).toContain(slowRun)
  })
})

/** GET /api/runs/:id/report on a controller: content negotiation, problems, the comparison header. */
describe('reports from the controller', () => {
  let target: ChildServer
  let app: FastifyInstance
  let stop: () => Promise<void>
  let base: string
  let runId: string
  let hooks: RecordingServer

  async function finished(id: string): Promise<void> {
    // The event stream of a run ends with its final status: reading it to its end waits for the run.
    await (await fetch(`${base}/api/runs/${id}/events`)).text()
  }

  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
    hooks = await startRecordingServer('127.0.0.1', (_request, response) => response.end('ok'))
    ;({ app, stop } = inProcessController({}))
    base = await app.listen({ port: 0, host: '127.0.0.1' })
    const yaml = `${scenario(target.url, 'api-orders')}hooks: { postRun: [{ url: "${hooks.url}/post-run" }] }\n`
    const started = await app.inject({ method: 'POST', url: '/api/runs', payload: { yaml } })
    runId = started.json<{ id: string }>().id
    await finished(runId)
  }, 60_000)

  afterAll(async () => {
    await stop?.()
    await Promise.all([target?.stop(), hooks?.close()])
  })

  it('answers in the format the Accept header (or ?format) asks for', async () => {
    const html = await app.inject({ url: `/api/runs/${runId}/report`, headers: { accept: 'text/html' } })
    expect(html.statusCode).toBe(200)
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8')
    // Self-contained: nothing may be fetched, even if text got through the escaping.
    expect(html.headers['content-security-policy']).toContain("default-src 'none'")
    expect(html.body).toContain(runId)
    const md = await app.inject({ url: `/api/runs/${runId}/report`, headers: { accept: 'text/markdown' } })
    expect(md.headers['content-type']).toBe('text/markdown; charset=utf-8')
    const xml = await app.inject({ url: `/api/runs/${runId}/report`, headers: { accept: 'application/xml' } })
    expect(xml.headers['content-type']).toBe('application/xml; charset=utf-8')
    expect(xml.body).toContain('<testsuite')
    const browser = await app.inject({
      url: `/api/runs/${runId}/report`,
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    })
    expect(browser.headers['content-type']).toBe('text/html; charset=utf-8')
    const byQuery = await app.inject({ url: `/api/runs/${runId}/report?format=md`, headers: { accept: 'text/html' } })
    expect(byQuery.headers['content-type']).toBe('text/markdown; charset=utf-8')
    for (const body of [html.body, md.body, xml.body]) expect(body).not.toContain('report-secret-0f9e8d7c')
  })

  it('refuses what it cannot answer with problem+json: 406, 404, 400', async () => {
    const pdf = await app.inject({ url: `/api/runs/${runId}/report`, headers: { accept: 'application/pdf' } })
    expect(pdf.statusCode).toBe(406)
    expect(pdf.json()).toMatchObject({ code: 'not_acceptable' })
    const unknown = await app.inject({ url: '/api/runs/no-such-run/report' })
    expect(unknown.statusCode).toBe(404)
    const badBaseline = await app.inject({ url: `/api/runs/${runId}/report?baseline=../etc` })
    expect(badBaseline.statusCode).toBe(400)
  })

  it('compares with a baseline run and says in a header whether a step regressed', async () => {
    const compared = await app.inject({ url: `/api/runs/${runId}/report?baseline=${runId}&format=json` })
    expect(compared.statusCode).toBe(200)
    expect(compared.headers['gauntlet-regressed']).toBe('false')
  })

  it('the CLI reads reports from the controller', async () => {
    const result = await runCli(['report', runId, '--controller', base, '--format', 'md'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(runId)
  })

  it('postRun carries no root cause for a run without faults or trips', async () => {
    const delivery = await hooks.waitForRequest(/post-run/)
    const payload = JSON.parse(delivery.body) as { rootCause?: unknown; reportUrl?: string; verdict: string }
    expect(payload.verdict).toBe('pass')
    expect(payload.rootCause).toBeUndefined()
    expect(payload.reportUrl).toBeUndefined()
  })
})
