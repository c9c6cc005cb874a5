/**
 * Process entry of proxy-mode delay. The agent starts it in the target's network namespace and then
 * redirects the service port to it; this process is the dead man's switch for that redirect: it runs
 * the --cleanup commands (which delete the redirect) itself at --until, on SIGTERM/SIGINT/SIGHUP or on
 * a crash, so a fault cannot outlive an agent that was killed meanwhile.
 *
 *   latency-proxy-main --upstream-host H --upstream-port P --latency-ms N [--jitter-ms N]
 *     [--listen-host 0.0.0.0] [--listen-port 0] --until <epoch ms> [--cleanup '[["iptables", ...]]']
 *
 * stdout: `listening <host>:<port>` once ready, then `stopping: <why>` and one `cleanup ...` line per
 * command. Exit 0 when every cleanup command succeeded, 1 otherwise, 2 for bad flags (nothing started).
 */
import { execFile } from 'node:child_process'
import { parseArgs } from 'node:util'
import { startLatencyProxy, type LatencyProxy, type LatencyProxyOptions } from './latency-proxy.js'

/** The proxy's own options (but its random source), and how it ends. */
interface LatencyProxyFlags extends Omit<LatencyProxyOptions, 'random'> {
  /** Epoch ms at which the proxy ends itself. */
  untilMs: number
  /** argv arrays run in order, without a shell, when the proxy ends. */
  cleanup: string[][]
  /** Run first when the proxy ends (the bypass that sends new connections straight to the service). */
  drain: string[][]
}

const drainIdleMs = 250
const drainMaxMs = 5_000
/** How long clients get to close their own connections (the run moves its pool off) before the proxy ends any. */
const drainGraceMs = 1_000

/** A hung cleanup command (iptables waiting on its lock, say) must not keep the others from running. */
const cleanupTimeoutMs = 10_000
/** setTimeout's limit; a longer --until is reached in several steps. */
const maxTimerMs = 2 ** 31 - 1

/** Parses the flags; returns every problem found, one line each, each naming its flag. */
function parseLatencyProxyFlags(argv: string[], nowMs: number): { flags: LatencyProxyFlags } | { problems: string[] } {
  let values: Record<string, string | undefined>
  try {
    const text = { type: 'string' } as const
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'listen-host': text,
        'listen-port': text,
        'upstream-host': text,
        'upstream-port': text,
        'latency-ms': text,
        'jitter-ms': text,
        until: text,
        cleanup: text,
        drain: text,
      },
    }).values
  } catch (err) {
    // parseArgs explains itself over several lines; one line per problem keeps the log readable.
    return { problems: [(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')] }
  }

  const problems: string[] = []
  const show = (raw: string): string => JSON.stringify(raw)
  const flag = (name: string, fallback?: string): string | undefined => {
    const raw = values[name] ?? fallback
    if (raw === undefined || raw.trim() === '') problems.push(`--${name} is required`)
    else return raw
    return undefined
  }
  const integer = (name: string, min: number, max: number, fallback?: string): number => {
    const raw = flag(name, fallback)
    if (raw === undefined) return 0
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min || value > max)
      problems.push(`--${name} must be an integer in ${min}..${max}, got ${show(raw)}`)
    return value
  }
  const millis = (name: string, fallback?: string): number => {
    const raw = flag(name, fallback)
    if (raw === undefined) return 0
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0)
      problems.push(`--${name} must be a number of milliseconds ≥ 0, got ${show(raw)}`)
    return value
  }

  const listenHost = flag('listen-host', '0.0.0.0') ?? ''
  const listenPort = integer('listen-port', 0, 65535, '0')
  const upstreamHost = flag('upstream-host') ?? ''
  const upstreamPort = integer('upstream-port', 1, 65535)
  const latencyMs = millis('latency-ms')
  const jitterMs = millis('jitter-ms', '0')
  const untilMs = integer('until', 0, Number.MAX_SAFE_INTEGER)
  // A deadline already passed would tear the redirect down before the agent has added it.
  if (values.until !== undefined && Number.isSafeInteger(untilMs) && untilMs <= nowMs) {
    problems.push(`--until ${untilMs} is in the past (now ${nowMs}); it is an epoch time in ms`)
  }
  const cleanup = parseCleanup(values.cleanup ?? '[]', problems)
  const drain = parseCleanup(values.drain ?? '[]', problems)

  if (problems.length > 0) return { problems }
  return { flags: { listenHost, listenPort, upstreamHost, upstreamPort, latencyMs, jitterMs, untilMs, cleanup, drain } }
}

function parseCleanup(raw: string, problems: string[]): string[][] {
  const expected = '--cleanup must be a JSON array of argv arrays of strings, e.g. [["iptables","-t","nat","-D",...]]'
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (err) {
    problems.push(`${expected}: ${err instanceof Error ? err.message : String(err)}`)
    return []
  }
  const isArgv = (value: unknown): value is string[] =>
    Array.isArray(value) && value.length > 0 && value.every((arg) => typeof arg === 'string')
  if (!Array.isArray(parsed) || !parsed.every(isArgv)) {
    problems.push(`${expected}, got ${raw}`)
    return []
  }
  return parsed
}

interface CleanupResult {
  ok: boolean
  status: string
  stderr: string
}

function runCommand([file, ...args]: string[]): Promise<CleanupResult> {
  return new Promise((resolve) => {
    execFile(file!, args, { timeout: cleanupTimeoutMs, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      const text = String(stderr).trim()
      if (!error) return resolve({ ok: true, status: 'exit 0', stderr: text })
      const failure = error
      let status: string
      if (failure.killed) status = `killed after ${cleanupTimeoutMs} ms`
      else if (typeof failure.code === 'number') status = `exit ${failure.code}`
      else if (failure.signal) status = `killed by ${failure.signal}`
      else status = `failed to start (${failure.code ?? failure.message})`
      resolve({ ok: false, status, stderr: text })
    })
  })
}

/** Runs every command in order, even after a failure: each one may undo something different. */
async function runCleanup(commands: string[][], say: (line: string) => void): Promise<boolean> {
  let ok = true
  for (const argv of commands) {
    const result = await runCommand(argv)
    say(`cleanup ${result.status}: ${JSON.stringify(argv)}`)
    if (!result.ok) {
      ok = false
      if (result.stderr) process.stderr.write(`latency-proxy: ${JSON.stringify(argv)}: ${result.stderr}\n`)
    }
  }
  return ok
}

async function main(): Promise<void> {
  // Once the agent is gone, its ends of our pipes are closed and every write fails with EPIPE; that
  // must not stop the cleanup.
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  const say = (line: string): void => void process.stdout.write(`${line}\n`)

  const parsed = parseLatencyProxyFlags(process.argv.slice(2), Date.now())
  if ('problems' in parsed) {
    for (const problem of parsed.problems) process.stderr.write(`latency-proxy: ${problem}\n`)
    process.exitCode = 2
    return
  }
  const { flags } = parsed

  let proxy: LatencyProxy | undefined
  let ending = false
  let untilTimer: NodeJS.Timeout | undefined
  /** The only way out once flags are valid: runs the cleanup exactly once, whatever calls it. */
  const end = async (reason: string, failed: boolean): Promise<void> => {
    if (ending) return say(`already stopping; ignoring ${reason}`)
    ending = true
    clearTimeout(untilTimer)
    say(`stopping: ${reason}`)
    // Drain first: the bypass sends new connections straight to the service, the ones open through us
    // finish what they carry (deleting the redirect under them would break their address translation),
    // then the redirect goes. Clients get 1 s to close their own connections (the run moves its pool
    // off: a client-side close races no request); then a connection idle for 250 ms is ended; none
    // survives 5 s.
    const drained = await runCleanup(flags.drain, say)
    await proxy?.drain(drainIdleMs, drainMaxMs, drainGraceMs)
    const cleaned = await runCleanup(flags.cleanup, say)
    await proxy?.close()
    process.exit(cleaned && drained && !failed ? 0 : 1)
  }
  const armUntil = (): void => {
    const left = flags.untilMs - Date.now()
    if (left <= 0) void end('until reached', false)
    else untilTimer = setTimeout(armUntil, Math.min(left, maxTimerMs))
  }
  armUntil()
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void end(signal, false))
  process.on('uncaughtException', (err) => {
    process.stderr.write(`latency-proxy: ${err.stack ?? err.message}\n`)
    void end('internal error', true)
  })

  try {
    proxy = await startLatencyProxy({
      listenHost: flags.listenHost,
      listenPort: flags.listenPort,
      upstreamHost: flags.upstreamHost,
      upstreamPort: flags.upstreamPort,
      latencyMs: flags.latencyMs,
      jitterMs: flags.jitterMs,
    })
  } catch (err) {
    process.stderr.write(
      `latency-proxy: cannot listen ` +
        `on ${flags.listenHost}:${flags.listenPort}: ${err instanceof Error ? err.message : String(err)}\n`,
    )
    return end('could not listen', true)
  }
  // Announcing readiness after cleanup began would make the agent add a redirect nobody removes.
  if (ending) return
  const host = flags.listenHost.includes(':') ? `[${flags.listenHost}]` : flags.listenHost
  say(`listening ${host}:${proxy.port}`)
}

void main()
