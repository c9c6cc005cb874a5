import { nsenter, readMarks, type GauntletMarks } from '@gauntlet/faults'
import type { RunSummary, ObservedStep, WindowReport } from '@gauntlet/contracts'
import { SqliteStore } from '@gauntlet/controller'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { PassThrough } from 'node:stream'
import { promisify } from 'node:util'
import { gauntletBin, runCli, type CliResult } from './cli.js'
import { dockerClient } from './docker.js'

/**
 * Helpers for the fault tests on a real engine: scenarios run through the real `gauntlet` binary,
 * namespace read-backs, the fault journal, timed downloads and detached helper processes.
 */

/**
 * Every gauntlet process that loads a container needs the bridge addresses on its allow-list (and loopback, for
 * local targets).
 */
export const containerAllow: NodeJS.ProcessEnv = { GAUNTLET_TARGET_ALLOW: '127.0.0.0/8,172.16.0.0/12' }

/**
 * The fault journal of a test: one file per test directory, for every gauntlet process of that test.
 * GAUNTLET_FAULT_JOURNAL names it for `gauntlet run` (whatever --db says) and `--state-dir <dir>` names
 * the same file for `gauntlet fault`, so a test never shares a journal with another test or with the
 * host's default one.
 */
export function journalEnv(dir: string): NodeJS.ProcessEnv {
  return { GAUNTLET_FAULT_JOURNAL: join(dir, 'faults.jsonl') }
}

export interface ScenarioDoc {
  name: string
  target: { url: string; timeout?: string; method?: string }
  load: { steps: Array<{ rps: number; duration: string }>; warmup?: string; connections?: number }
  thresholds?: string[]
  onThresholdFail?: 'stop' | 'continue'
  faults?: Array<Record<string, unknown>>
  decision?: Record<string, unknown>
  hooks?: Record<string, Array<{ url: string }>>
}

export interface ScenarioRun extends CliResult {
  summary: RunSummary | undefined
  /** Every stored window of the run, in order (empty when the run stored none). */
  windows: WindowReport[]
  /** Wall-clock duration of the gauntlet process. */
  elapsedMs: number
}

/** Writes a scenario (JSON is YAML) and runs `gauntlet run` on it with its db, journal and summary in `dir`. */
export async function runScenario(dir: string, doc: ScenarioDoc, env: NodeJS.ProcessEnv = {}): Promise<ScenarioRun> {
  const file = writeScenarioDoc(dir, doc)
  const db = join(dir, 'gauntlet.db')
  const summaryFile = join(dir, `${doc.name}-summary.json`)
  const started = performance.now()
  const result = await runCli(['run', file, '--db', db, '--summary', summaryFile, '--quiet'], {
    cwd: dir,
    env: { ...containerAllow, ...journalEnv(dir), ...env },
  })
  const elapsedMs = performance.now() - started
  const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary) : undefined
  return { ...result, summary, windows: summary ? storedWindows(db, summary.runId) : [], elapsedMs }
}

export function writeScenarioDoc(dir: string, doc: ScenarioDoc): string {
  const file = join(dir, `${doc.name}.yaml`)
  // JSON is valid YAML, and the loader reports positions in it all the same.
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`)
  return file
}

/** A fault document for `gauntlet fault apply` (JSON is YAML). */
export function writeFault(dir: string, name: string, doc: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, JSON.stringify(doc))
  return file
}

export function storedWindows(db: string, runId: string): WindowReport[] {
  const store = new SqliteStore(db)
  try {
    return store.windows(runId)
  } finally {
    store.close()
  }
}

/** Failed sends of a window, whatever their class. */
export function windowErrors(w: WindowReport): number {
  return (
    w.errors.timeout +
    w.errors.refused +
    w.errors.reset +
    w.errors.other +
    Object.values(w.errors.status).reduce((a, b) => a + b, 0)
  )
}

/** What a set of windows adds up to: answered, failed, and the failures by class. */
export function tally(windows: readonly WindowReport[]): {
  windows: number
  ok: number
  errors: number
  timeout: number
  refused: number
  reset: number
  other: number
  status: number
} {
  const t = { windows: windows.length, ok: 0, errors: 0, timeout: 0, refused: 0, reset: 0, other: 0, status: 0 }
  for (const w of windows) {
    t.ok += w.ok
    t.errors += windowErrors(w)
    t.timeout += w.errors.timeout
    t.refused += w.errors.refused
    t.reset += w.errors.reset
    t.other += w.errors.other
    t.status += Object.values(w.errors.status).reduce((a, b) => a + b, 0)
  }
  return t
}

/**
 * The windows of a run split by one fault's recorded times: `during` lies wholly inside
 * [appliedAt, revertedAt], `clean` has no fault at all (window.faults absent), `edge` is the rest.
 */
export function splitByFault(
  run: ScenarioRun,
  faultIndex = 0,
): {
  during: WindowReport[]
  clean: WindowReport[]
  edge: WindowReport[]
  before: WindowReport[]
  after: WindowReport[]
} {
  const record = run.summary?.faults?.[faultIndex]
  if (!record?.appliedAt || !record.revertedAt)
    throw new Error(`fault ${faultIndex} was not applied and reverted: ${JSON.stringify(record)}`)
  const on = Date.parse(record.appliedAt)
  const off = Date.parse(record.revertedAt)
  const during = run.windows.filter((w) => w.startedAt >= on && w.startedAt + 1000 <= off)
  const clean = run.windows.filter((w) => !w.faults || w.faults.length === 0)
  const edge = run.windows.filter((w) => !during.includes(w) && !clean.includes(w))
  return {
    during,
    clean,
    edge,
    before: clean.filter((w) => w.startedAt + 1000 <= on),
    after: clean.filter((w) => w.startedAt >= off),
  }
}

export function step(run: ScenarioRun, index: number): ObservedStep {
  const found = run.summary?.steps.find((s) => s.index === index)
  if (!found) throw new Error(`run has no step ${index}: exit ${run.code}\n${run.stdout}\n${run.stderr}`)
  return found
}

/** A long-running gauntlet process whose output lines can be awaited. */
export interface GauntletProcess {
  child: ChildProcess
  pid: number
  stdout: string[]
  stderr: string[]
  /** Resolves once `count` lines of `stream` (seen so far or to come) match; rejects if the process exits first. */
  lines(stream: 'stdout' | 'stderr', pattern: RegExp, count?: number): Promise<string[]>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL, then the exit. */
  kill9(): Promise<void>
}

/** `gauntlet <args>` as a long-running process in `dir`, with the test's journal. */
export function spawnGauntlet(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): GauntletProcess {
  const child = spawn(process.execPath, [gauntletBin, ...args], {
    cwd: dir,
    env: { ...process.env, ...containerAllow, ...journalEnv(dir), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = { stdout: [] as string[], stderr: [] as string[] }
  const waiters = new Set<() => void>()
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream] }).on('line', (line) => {
      out[stream].push(line)
      for (const wake of waiters) wake()
    })
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  let gone = false
  void exited.then(() => {
    gone = true
    for (const wake of waiters) wake()
  })
  return {
    child,
    pid: child.pid!,
    ...out,
    lines(stream, pattern, count = 1) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const matched = out[stream].filter((line) => pattern.test(line))
          if (matched.length >= count) {
            waiters.delete(check)
            resolve(matched)
          } else if (gone) {
            waiters.delete(check)
            reject(
              new Error(
                `gauntlet ${args.join(' ')} exited before printing ${count}× ${pattern} on ${stream}\n` +
                  `stdout:\n${out.stdout.join('\n')}\nstderr:\n${out.stderr.join('\n')}`,
              ),
            )
          }
        }
        waiters.add(check)
        check()
      })
    },
    exited,
    async kill9() {
      if (!gone) child.kill('SIGKILL')
      await exited
    },
  }
}

/** Gauntlet's marks in a namespace, read back by the built package's own reader. */
export function marksIn(pid: number): Promise<GauntletMarks> {
  return readMarks(nsenter, pid)
}

export const noMarks: GauntletMarks = { qdiscs: [], rules: [], chains: [] }

/** The namespace as tc and iptables-save print it: for failure messages and for what readMarks does not parse. */
export async function namespaceDump(pid: number): Promise<string> {
  const run = promisify(execFile)
  const parts = await Promise.all([
    run('nsenter', ['-t', String(pid), '-n', 'tc', 'qdisc', 'show']).then((r) => r.stdout),
    run('nsenter', ['-t', String(pid), '-n', 'tc', 'filter', 'show', 'dev', 'eth0']).then((r) => r.stdout),
    run('nsenter', ['-t', String(pid), '-n', 'iptables-save']).then((r) => r.stdout),
  ])
  return parts.join('\n')
}

export type JournalLine = { op: string; id: string; [key: string]: unknown }

/** Every line of a fault journal (faults.jsonl in a state dir, or next to a run's db). */
export function journal(dir: string): JournalLine[] {
  const file = join(dir, 'faults.jsonl')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as JournalLine)
}

/** The detached helper processes (dead man's switches, latency proxies) the journal names. */
export function helperPids(dir: string): { deadman: number[]; proxy: number[] } {
  const deadman = new Set<number>()
  const proxy = new Set<number>()
  for (const line of journal(dir)) {
    const targets =
      line.op === 'intent'
        ? (line.targets as Array<{ deadmanPid?: number; proxyPid?: number }>)
        : line.op === 'helpers'
          ? [line as { deadmanPid?: number; proxyPid?: number }]
          : []
    for (const t of targets) {
      if (t.deadmanPid !== undefined) deadman.add(t.deadmanPid)
      if (t.proxyPid !== undefined) proxy.add(t.proxyPid)
    }
  }
  return { deadman: [...deadman], proxy: [...proxy] }
}

/** Whether `pid` still runs `script` (pids get reused, so the command line is checked). */
export function running(pid: number, script: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(script)
  } catch {
    return false
  }
}

/**
 * Bounded wait for a condition that a deadline or another process brings about (a dead man's switch
 * firing, a helper exiting after SIGTERM). Returns when it first held, or throws naming `what`.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 50,
): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return Date.now()
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(intervalMs)
  }
}

export interface Download {
  bytes: number
  ms: number
  mbitPerS: number
}

/** Times one GET to its last byte. */
export async function download(url: string, timeoutMs = 10_000): Promise<Download> {
  const started = performance.now()
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const bytes = (await response.arrayBuffer()).byteLength
  const ms = performance.now() - started
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`)
  return { bytes, ms, mbitPerS: (bytes * 8) / 1e6 / (ms / 1000) }
}

/** Runs a command in a container (docker exec) and gives its exit code and output. */
export async function execIn(
  containerId: string,
  cmd: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; output: string }> {
  const exec = await dockerClient().getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true })
  const stream = await exec.start({ hijack: true, stdin: false })
  // Without a TTY the engine multiplexes stdout and stderr with 8-byte frame headers.
  let output = ''
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  dockerClient().modem.demuxStream(stream, sink, sink)
  await Promise.race([
    new Promise<void>((resolve) => stream.once('end', () => resolve())),
    delay(timeoutMs).then(() => {
      throw new Error(`${cmd.join(' ')} in ${containerId.slice(0, 12)} did not finish within ${timeoutMs} ms`)
    }),
  ])
  // The stream can end a moment before the engine records the exit code.
  for (let i = 0; i < 40; i++) {
    const info = await exec.inspect()
    if (!info.Running) return { code: info.ExitCode, output }
    await delay(25)
  }
  return { code: null, output }
}

/** `gauntlet <args>` to completion in `dir`, with containers on the allow-list and the test's journal. */
export function gauntlet(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { cwd: dir, env: { ...containerAllow, ...journalEnv(dir), ...env } })
}

/** `gauntlet fault <action> ... --state-dir <dir>`: the same journal as the test's runs. */
export function faultCli(dir: string, ...args: string[]): Promise<CliResult> {
  return gauntlet(dir, ['fault', ...args, '--state-dir', dir])
}

/** A local HTTP server that counts the requests it gets: proof that a run sent none. */
export async function startCountingServer(): Promise<{ url: string; requests(): number; close(): void }> {
  let requests = 0
  const server = createServer((_req, res) => {
    requests++
    res.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests: () => requests,
    close: () => server.close(),
  }
}
