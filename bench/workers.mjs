#!/usr/bin/env node
// `npm run bench` (last part): an agent's load threads (--workers). The highest PACED rate one load
// thread and two load threads keep without any generator-limited window, measured side by side in one
// run, against the same nginx (1 worker, sendfile, a 3-byte static file) on the same machine.
//
// A trial runs 1 + BENCH_WORKERS_SECONDS at one rate. Its first second is a warm-up and is not judged:
// connections grow on demand from a few (their handshakes make that second's sends late) and the JIT
// warms, as the pacing test and bench/run.mjs judge from the second second on. A rate passes when every
// later window is not generator-limited, dropped nothing, had no error and sent all it planned; a
// failed trial is tried once more (a rate fails when both attempts fail), so one stall caused by
// another process on this shared machine does not decide it. The search multiplies the rate by 1.5
// from BENCH_WORKERS_START_RPS until a rate fails, then halves the gap three times (bounded). Rounds
// alternate which thread count goes first, so drift hits both.
//
// Because the target runs on the same cores, the bench also reads what the CPU was doing during each
// passing trial: the nginx worker's CPU (/proc/<pid>/stat), this process's (all its threads, the
// load threads included), and how busy the whole machine was (/proc/stat: when it is near 100%, the
// load threads and the target are fighting for the same cores). Then one trial on two threads at their
// highest passing rate against an nginx that logs every arrival ($msec): the 100 ms slices the server
// saw. Prints ratios and shares; never fails.
// Run it as `flock /tmp/bench.lock node bench/workers.mjs` on a shared machine.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { startLoadInWorkers } from '../apps/agent/dist/index.js'
import { totalErrors } from '../packages/contracts/dist/index.js'
import { nginxBinary, startNginx } from '../test/helpers/nginx.mjs'

const seconds = Number(process.env.BENCH_WORKERS_SECONDS ?? 4)
const rounds = Number(process.env.BENCH_WORKERS_ROUNDS ?? 3)
const startRps = Number(process.env.BENCH_WORKERS_START_RPS ?? 4000)
// BENCH_WORKERS_CONNECTIONS=N: a fixed pool of N connections (shared out between the threads) instead of a
// pool grown on demand up to 2000. It separates what a thread can send from how its pool grows: a stall grows
// the pool (every connection looks busy while its answer waits to be read), and a larger pool costs more per request.
const fixedPool = process.env.BENCH_WORKERS_CONNECTIONS ? Number(process.env.BENCH_WORKERS_CONNECTIONS) : undefined
if (fixedPool !== undefined && !(Number.isInteger(fixedPool) && fixedPool >= 2)) {
  console.error(
    `bench/workers.mjs: BENCH_WORKERS_CONNECTIONS must be an integer of at least 2 (got ${process.env.BENCH_WORKERS_CONNECTIONS})`,
  )
  process.exit(2)
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [state, ppid, …]. */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** CPU seconds a process has used (user + system). */
function processCpuS(pid) {
  const fields = statFields(pid)
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat, every core). */
function machineCpuS() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number)
  const busy = user + nice + system + irq + softirq + steal
  return { busy: busy / ticksPerSecond, total: (busy + idle + iowait) / ticksPerSecond }
}

/** The pid of nginx's one worker process: the master's child. */
function nginxWorkerPid(masterPid) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Number(statFields(entry)[1]) === masterPid) return Number(entry)
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no worker process under nginx ${masterPid}`)
}

function snapshot(workerPid) {
  const usage = process.cpuUsage()
  return {
    at: performance.now(),
    nginx: processCpuS(workerPid),
    self: (usage.user + usage.system) / 1e6,
    machine: machineCpuS(),
  }
}

function targetOf(url) {
  const u = new URL(url)
  return { protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, method: 'GET', headers: {} }
}

/**
 * One trial at `rps` on `workers` threads. CPU is read over the judged seconds (from window 0's report
 * to the last window's). Shares are of one core (100% = one core busy).
 */
async function trial(url, workerPid, workers, rps) {
  const windows = []
  let first
  let last
  const { result } = startLoadInWorkers(
    {
      target: targetOf(url),
      steps: [{ rps, durationS: 1 + seconds, step: 0 }],
      timeoutMs: 5000,
      maxConnections: 2000,
      ...(fixedPool !== undefined ? { connections: fixedPool } : {}),
    },
    {
      onWindow: (w) => {
        windows.push(w)
        if (w.index === 0) first = snapshot(workerPid)
        if (w.index === seconds) last = snapshot(workerPid)
      },
    },
    workers,
  )
  const outcome = await result
  const judged = windows.slice(1)
  const passed =
    !outcome.aborted &&
    judged.length === seconds &&
    judged.every(
      (w) => !w.generatorLimited && w.dropped === 0 && totalErrors(w.errors) === 0 && w.dispatched === w.planned,
    )
  const wallS = first && last ? (last.at - first.at) / 1000 : NaN
  const cpu =
    first && last
      ? {
          nginx: (last.nginx - first.nginx) / wallS,
          self: (last.self - first.self) / wallS,
          machine: (last.machine.busy - first.machine.busy) / (last.machine.total - first.machine.total),
        }
      : undefined
  const limited = judged.filter((w) => w.generatorLimited)
  const why = passed
    ? ''
    : limited.length > 0
      ? `${limited.length} of ${seconds} judged windows generator-limited, e.g. second ${limited[0].index}: ` +
        `${limited[0].lateSends} late of ${limited[0].dispatched}, ${limited[0].dropped} dropped, lag up to ` +
        `${limited[0].maxSendLagMs} ms; machine ${pct(cpu?.machine)} busy`
      : 'errors or missing sends'
  return { rps, passed, cpu, why }
}

/** A rate, tried once more when the first attempt fails. */
async function attempt(url, workerPid, workers, rps) {
  const first = await trial(url, workerPid, workers, rps)
  return first.passed ? first : await trial(url, workerPid, workers, rps)
}

/** The highest rate that passed: ×1.5 until a rate fails, then three halvings of the gap. */
async function maxPaced(url, workerPid, workers) {
  let best
  let failed
  let rps = startRps
  for (let i = 0; i < 8 && !failed; i++) {
    const t = await attempt(url, workerPid, workers, rps)
    if (t.passed) best = t
    else failed = t
    rps = Math.round(rps * 1.5)
  }
  for (let i = 0; i < 3 && failed && best; i++) {
    const t = await attempt(url, workerPid, workers, Math.round((best.rps + failed.rps) / 2))
    if (t.passed) best = t
    else failed = t
  }
  return { best, failed }
}

function pct(share) {
  return share === undefined || !Number.isFinite(share) ? 'n/a' : `${Math.round(share * 100)}%`
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

if (!nginxBinary) {
  console.error('bench/workers.mjs needs nginx as the target: apt-get install nginx-light')
  process.exit(2)
}
// Ctrl-C, or a timeout's SIGTERM, still stops the nginx processes this bench started.
const running = new Set()
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => void Promise.all([...running].map((n) => n.stop())).finally(() => process.exit(130)))
const nginx = await startNginx({ sendfile: true })
running.add(nginx)
const workerPid = nginxWorkerPid(nginx.pid)
console.log(
  `\nLoad threads (--workers): highest paced rate with no generator-limited window, ${seconds}s judged per ` +
    `trial after a 1 s warm-up at the same rate, ${rounds} rounds, ` +
    `${fixedPool !== undefined ? `a fixed pool of ${fixedPool} connections shared by the threads` : 'connections grown on demand up to 2000'}\n` +
    `target: nginx (1 worker, sendfile, 3-byte static file) on this machine: ${cpus()[0]?.model ?? '?'}, ` +
    `${availableParallelism()} cores, node ${process.version}\n` +
    'CPU during the highest passing trial, in % of one core: nginx worker / this process (all load threads) / ' +
    'the whole machine (% of all cores)\n',
)
const ratios = []
const twoMax = []
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [1, 2] : [2, 1]
    // ≥: no rate up to the search's bound failed; the ratio then uses that lower bound.
    const found = {}
    for (const workers of order) found[workers] = await maxPaced(nginx.url, workerPid, workers)
    const cells = [1, 2].map((workers) => {
      const { best, failed } = found[workers]
      if (!best) return `${workers} thread(s): none passed (from ${startRps} rps: ${failed?.why})`
      const cpu = best.cpu
      return (
        `${workers} thread(s): ${failed ? '' : '≥ '}${best.rps} rps (cpu ${pct(cpu?.nginx)} / ${pct(cpu?.self)} / ` +
        `${pct(cpu?.machine)}; first failure ${failed ? `${failed.rps} rps: ${failed.why}` : `none up to ${best.rps}`})`
      )
    })
    const one = found[1].best?.rps
    const two = found[2].best?.rps
    const ratio = one && two ? two / one : NaN
    if (Number.isFinite(ratio)) ratios.push(ratio)
    if (two) twoMax.push(two)
    console.log(`round ${round + 1}: two/one ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}×`)
    for (const cell of cells) console.log(`  ${cell}`)
  }
  if (ratios.length > 0)
    console.log(
      `\ntwo threads / one thread, highest paced rate: median ${median(ratios).toFixed(2)}×, ` +
        `range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}× over ${ratios.length} rounds`,
    )
} finally {
  await nginx.stop()
}

// Pacing as the server sees it: two threads at their median highest passing rate, every arrival logged.
// The first arrival is second 0's first send; the judged seconds start 1000 ms later.
if (twoMax.length > 0) {
  const rps = median(twoMax)
  const logging = await startNginx({ sendfile: true, logArrivals: true })
  running.add(logging)
  const t = await trial(logging.url, nginxWorkerPid(logging.pid), 2, rps)
  const arrivals = await logging.arrivals()
  // The judged seconds, the last partial slice left out. nginx logs $msec (millisecond resolution).
  const slices = new Array(seconds * 10).fill(0)
  for (const at of arrivals) {
    const slice = Math.floor((at - 1000) / 100)
    if (slice >= 0 && slice < slices.length) slices[slice]++
  }
  const steady = slices.slice(0, -1)
  const share = rps / 10
  console.log(
    `\n2 threads at ${rps} rps (${t.passed ? 'no' : 'a'} generator-limited window${t.passed ? '' : `: ${t.why}`}), ` +
      `100 ms slices seen by nginx: min ${Math.min(...steady)} max ${Math.max(...steady)} for a share of ${share} ` +
      `(max ${(Math.max(...steady) / share).toFixed(2)}× its share; the goal is ≤ 1.5×)`,
  )
}
