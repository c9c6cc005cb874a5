import type { RunSummary } from '@gauntlet/contracts'
import Database from 'better-sqlite3'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { gauntletBin, runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { freePort } from '../helpers/free-port.mjs'

/** The CLI contract CI jobs depend on: exit codes, one line per problem, the summary JSON, the database. */
describe('gauntlet CLI (real binary, real demo target, real SQLite file)', () => {
  let target: ChildServer
  beforeAll(async () => {
    target = await startDemoTarget('--latency', '5')
  })
  afterAll(async () => {
    await target.stop()
  })

  const scenario = (url: string, extra = '') => `name: cli-test
target:
  url: ${url}/orders
  method: POST
  headers: { content-type: application/json }
  body: '{"sku":"A1"}'
  timeout: 2s
load:
  steps: [{ rps: 50, duration: 2s }, { rps: 100, duration: 2s }]
  warmup: 1s
${extra}`

  async function run(yaml: string, ...args: string[]) {
    const dir = tempDir()
    const file = writeScenario(dir, yaml)
    const db = join(dir, 'runs.db')
    const summaryFile = join(dir, 'summary.json')
    const result = await runCli(['run', file, '--db', db, '--summary', summaryFile, ...args])
    const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary) : undefined
    return { ...result, db, summary, file }
  }

  it(`exit 0 when every threshold holds; prints progress, a step table \
and the verdict; writes summary and database`, async () => {
    const result = await run(scenario(target.url, 'thresholds: [p99 < 500ms, error_rate < 1%]\n'))
    expect(result.code).toBe(0)
    expect(result.stdout.match(/step \d\/2 +planned/g)).toHaveLength(4)
    expect(result.stdout).toMatch(
      /step\s+planned\s+achieved\s+sent\s+completed\s+errors\s+err%\s+p50\s+p90\s+p99\s+max\s+verdict/,
    )
    expect(result.stdout).toMatch(/verdict: PASS \(capacity 100 rps/)
    const summary = result.summary!
    expect(summary).toMatchObject({ verdict: 'pass', capacityRps: 100, reasons: [] })
    expect(summary.steps).toHaveLength(2)
    for (const step of summary.steps) {
      expect(Object.keys(step)).toEqual(
        expect.arrayContaining([
          'index',
          'plannedRps',
          'achievedRps',
          'sent',
          'completed',
          'errors',
          'errorRate',
          'p50Ms',
          'p90Ms',
          'p99Ms',
          'maxMs',
          'generatorLimited',
          'verdict',
        ]),
      )
      expect(step).toMatchObject({ verdict: 'pass', errors: 0, errorRate: 0, generatorLimited: false })
      expect(step.sent).toBe(step.plannedRps) // one judged second per step
    }
    const db = new Database(result.db, { readonly: true })
    expect(db.prepare('SELECT status FROM runs').all()).toEqual([{ status: 'passed' }])
    expect(db.prepare('SELECT count(*) AS n FROM windows').get()).toEqual({ n: 4 })
    db.close()
  })

  it('--workers 2: the embedded run sends its plan on two threads and reports one window per second', async () => {
    const result = await run(scenario(target.url, 'thresholds: [p99 < 500ms, error_rate < 1%]\n'), '--workers', '2')
    expect(result.code).toBe(0)
    expect(result.stdout.match(/step \d\/2 +planned/g)).toHaveLength(4)
    for (const step of result.summary!.steps) expect(step).toMatchObject({ errors: 0, sent: step.plannedRps })
    const db = new Database(result.db, { readonly: true })
    expect(db.prepare('SELECT count(*) AS n FROM windows').get()).toEqual({ n: 4 })
    db.close()
  })

  it('exit 1 when a threshold fails: stops at the first failing step and says why', async () => {
    const failing = await startDemoTarget('--error-rate', '0.5')
    try {
      const result = await run(scenario(failing.url, 'thresholds: [error_rate < 1%]\n'))
      expect(result.code).toBe(1)
      expect(result.summary!.verdict).toBe('fail')
      expect(result.summary!.capacityRps).toBeNull()
      expect(result.summary!.steps[0]).toMatchObject({ verdict: 'fail' })
      expect(result.summary!.steps[0]!.errorsByClass.status['500']).toBeGreaterThan(0)
      expect(result.summary!.steps.filter((s) => s.verdict === 'pass')).toHaveLength(0)
      expect(result.summary!.reasons[0]).toMatch(
        /^step 1 \(50 rps\): error_rate \d+(\.\d+)?% does not meet "error_rate < 1%"/,
      )
      expect(result.stdout).toMatch(/verdict: FAIL/)
      // Stopped after step 1: step 2 never ran to the end.
      expect(result.summary!.steps.length).toBeLessThanOrEqual(2)
      expect(result.summary!.steps[1]?.verdict ?? 'aborted').toBe('aborted')
    } finally {
      await failing.stop()
    }
  })

  it('onThresholdFail: continue runs every step and still fails', async () => {
    const result = await run(scenario(target.url, 'thresholds: [p50 < 1ms]\nonThresholdFail: continue\n'))
    expect(result.code).toBe(1)
    // Both steps ran and neither passed. A step is 'generator-limited' instead of 'fail' when a busy machine kept
    // the generator off its pace (seen while other tests loaded these 2 cores): that verdict ranks first.
    const verdicts = result.summary!.steps.map((s) => s.verdict)
    expect(verdicts).toHaveLength(2)
    expect(verdicts).toContain('fail')
    for (const verdict of verdicts) expect(['fail', 'generator-limited']).toContain(verdict)
  })

  it('exit 2 for an invalid scenario: one line per problem with file:line:col, no stack, nothing stored', async () => {
    const yaml = scenario(target.url, 'thresholds: [p99 < 500, error_rate < 1%]\ncolour: blue\n').replace(
      'rps: 50',
      'rps: -5',
    )
    const result = await run(yaml)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toEqual([
      expect.stringMatching(/scenario\.yaml:9:18 \/load\/steps\/0\/rps: expected number to be greater than 0$/),
      expect.stringMatching(
        /scenario\.yaml:11:14 \/thresholds\/0: threshold "p99 < 500": a latency needs a unit \(ms or s\)$/,
      ),
      expect.stringMatching(/scenario\.yaml:12:1 \/colour: unknown key "colour"/),
    ])
    expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/)
    expect(existsSync(result.db)).toBe(false)
    expect(result.summary).toBeUndefined()
  })

  it('exit 3 when the target is unreachable before the first step, with the cause', async () => {
    const closedPort = await freePort()
    const result = await run(scenario(`http://127.0.0.1:${closedPort}`))
    expect(result.code).toBe(3)
    expect(result.summary).toMatchObject({ verdict: 'error', capacityRps: null, steps: [] })
    expect(result.summary!.reasons[0]).toMatch(
      /target unreachable before the first step: ECONNREFUSED connecting to 127\.0\.0\.1:\d+/,
    )
    const db = new Database(result.db, { readonly: true })
    expect(db.prepare('SELECT status FROM runs').all()).toEqual([{ status: 'error' }])
    db.close()
  })

  it('SIGINT stops the run, judges what it saw, never passes it (exit 3), and keeps every window', async () => {
    const dir = tempDir()
    const file = writeScenario(
      dir,
      scenario(target.url, 'thresholds: [p99 < 500ms]\n').replace(
        'steps: [{ rps: 50, duration: 2s }, { rps: 100, duration: 2s }]',
        'steps: [{ rps: 50, duration: 2s }, { rps: 100, duration: 60s }]',
      ),
    )
    const db = join(dir, 'runs.db')
    const summaryFile = join(dir, 'summary.json')
    const child = spawn(process.execPath, [gauntletBin, 'run', file, '--db', db, '--summary', summaryFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines = createInterface({ input: child.stdout })
    await new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        if (/^ +3s step 2\/2/.test(line)) resolve() // step 1 judged, step 2 under way
      }),
    )
    child.kill('SIGINT')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(3)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
    expect(summary.verdict).toBe('error')
    expect(summary.reasons[0]).toMatch(/run stopped before it finished; 1 of 2 steps were judged, all passed/)
    expect(summary.steps.map((s) => s.verdict)).toEqual(['pass', 'aborted'])
    const store = new Database(db, { readonly: true })
    expect(store.prepare('SELECT status FROM runs').all()).toEqual([{ status: 'aborted' }])
    expect((store.prepare('SELECT count(*) AS n FROM windows').get() as { n: number }).n).toBeGreaterThanOrEqual(3)
    store.close()
  })

  it('refuses an unwritable --summary path before the run starts (exit 2, nothing stored)', async () => {
    const result = await run(scenario(target.url), '--summary', '/nonexistent-dir/summary.json')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--summary: cannot write \/nonexistent-dir\/summary\.json: no such directory/)
    expect(existsSync(result.db)).toBe(false)
  })

  it('refuses a target outside GAUNTLET_TARGET_ALLOW before anything is stored or sent (exit 2)', async () => {
    const result = await run(scenario('http://10.0.0.1:8080'))
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /target host 10\.0\.0\.1 is not allowed by GAUNTLET_TARGET_ALLOW \(localhost,127\.0\.0\.0\/8,::1\)/,
    )
    expect(existsSync(result.db)).toBe(false)
  })

  it.each([
    [['run'], /expected one scenario file/],
    [['run', 'a.yaml', '--bogus'], /Unknown option '--bogus'/],
    [['run', 'a.yaml', '--workers', '0'], /--workers: "0" is not a number of load threads \(1 to 64\)/],
    [['run', 'a.yaml', '--workers', '65'], /--workers: "65" is not a number of load threads/],
    [
      ['run', 'a.yaml', '--workers', '2', '--controller', 'http://127.0.0.1:9'],
      /--workers applies to the embedded run/,
    ],
    [['controller', '--workers', '65'], /--workers: "65" is not a number of load threads \(1 to 64\)/],
    [
      ['controller', '--agents', 'remote', '--workers', '2'],
      /--workers applies to the embedded agent; with --agents remote, start each agent with --workers/,
    ],
    [['run', 'missing.yaml'], /missing\.yaml: cannot read scenario: no such file/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /usage:/],
  ])('exit 2 for usage errors: %j', async (args, message) => {
    const result = await runCli(args)
    expect(result.code).toBe(2)
    expect(result.stderr + result.stdout).toMatch(message)
  })

  it.each(['run', 'validate', 'schema', 'controller', 'agent', 'fault'])(
    '%s --help (and -h, and gauntlet help <command>) prints its usage, every flag, an example and the exit ' +
      'codes; exit 0',
    async (command) => {
      const help = await runCli([command, '--help'])
      expect(help.code).toBe(0)
      expect(help.stderr).toBe('')
      expect(help.stdout).toMatch(new RegExp(`^gauntlet ${command}: `))
      expect(help.stdout).toMatch(new RegExp(`usage: gauntlet ${command}\\b`))
      expect(help.stdout).toMatch(/-h, --help +print this help/)
      expect(help.stdout).toMatch(new RegExp(`examples?:\\n  (\\S+=\\S+ )?gauntlet ${command}\\b`))
      expect(help.stdout).toMatch(/exit codes:\n {2}0 {2}/)
      expect(help.stdout).toMatch(/\n {2}2 {2}/)
      // The same text whichever way it is asked for, even next to other arguments.
      expect((await runCli([command, 'x.yaml', '-h'])).stdout).toBe(help.stdout)
      expect((await runCli(['help', command])).stdout).toBe(help.stdout)
    },
  )

  it('run --help lists every flag the parser accepts, with its value and default', async () => {
    const help = (await runCli(['run', '--help'])).stdout
    for (const flag of ['--summary <file>', '--db <file>', '--target <url>', '--controller <url>', '--quiet'])
      expect(help).toContain(flag)
    expect(help).toMatch(/--hook-grace <duration> .*\(default: 10s\)/)
    expect(help).toMatch(/--db <file> .*\(default: \.gauntlet\/gauntlet\.db\)/)
    const controller = (await runCli(['controller', '--help'])).stdout
    expect(controller).toMatch(/--port <port> .*\(default: 8080\)/)
    expect(controller).toMatch(/--max-run-duration <duration> .*\(default: 24h\)/)
  })

  it(`gauntlet --help lists every command and exits 0; an unknown \
option names itself and points at --help`, async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['run', 'validate', 'schema', 'controller', 'agent', 'fault'])
      expect(help.stdout).toMatch(new RegExp(`^  gauntlet ${command}\\b`, 'm'))
    const unknown = await runCli(['controller', '--prot', '80'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/Unknown option '--prot'/)
    expect(unknown.stderr).toMatch(/see: gauntlet controller --help/)
  })

  it('--target overrides the scenario URL (the same scenario against another environment)', async () => {
    const result = await run(
      scenario('http://127.0.0.1:9', 'thresholds: [p99 < 500ms]\n'),
      '--target',
      `${target.url}/orders`,
    )
    expect(result.code).toBe(0)
    expect(result.summary!.target).toBe(`${target.url}/orders`)
  })

  it('validate: exit 0 for a good scenario, 2 with every problem for a bad one', async () => {
    const dir = tempDir()
    const good = await runCli(['validate', writeScenario(dir, scenario(target.url), 'good.yaml')])
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/good\.yaml: ok \(cli-test: 2 steps, 4s, 0 thresholds\)/)
    const bad = await runCli([
      'validate',
      writeScenario(
        dir,
        'name: x\ntarget: { url: "gopher://x" }\nload: { ramp: { from: 1, to: 2, step: 1, every: 1 } }\n',
        'bad.yaml',
      ),
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(2)
  })

  it('schema: prints the JSON Schema generated from the same source as the loader', async () => {
    const result = await runCli(['schema'])
    expect(result.code).toBe(0)
    const schema = JSON.parse(result.stdout) as { additionalProperties: unknown; properties: Record<string, unknown> }
    expect(schema.additionalProperties).toBe(false)
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'target', 'load', 'thresholds']))
  })
})
