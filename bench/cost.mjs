#!/usr/bin/env node
// `npm run bench` (first part): what each generator's whole process spends in CPU per 1,000 successful
// requests, side by side in one run against one nginx on loopback:
//
//  - start-up: a 1-request run (its CPU is what every run pays before its first send);
//  - a fixed rate (BENCH_RATE, default 5,000 rps): raw autocannon `-R`, `gauntlet run` (the embedded agent,
//    as users run it), hey `-q` (Go; paced by a ticker per worker), and bench/even-pacer.mjs, the floor of
//    even pacing in Node (open model, 1 ms timer, autocannon's parser, an HDR record per response, nothing
//    else); wrk has no fixed-rate mode (wrk2 is not packaged), so it has no row here;
//  - maximum: every tool as fast as it can on the same connections (gauntlet with an open-model plan far
//    above what the target serves, so every connection always has a due send).
//
// Each tool runs as its own process; its CPU is user + system of that process and its threads, read by
// the shell's `times` once it has exited. "net" subtracts the tool's own start-up run from the run's CPU.
// Tools take turns in every round (BENCH_ROUNDS, default 4), in reverse order every other round, so drift
// on a shared machine falls on all of them; figures are the rounds' medians, the maximum throughput ratio
// pools the rounds (all of Gauntlet's successful requests over all of autocannon's, same durations), and
// every round's ratio is printed too. Prints ratios, never fails on them. BENCH_ONLY=startup runs only the
// 1-request runs (BENCH_ROUNDS of them per tool) and prints only the start-up table and its goal.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nginxBinary, startNginx } from '../test/helpers/nginx.mjs'

const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const rate = Number(process.env.BENCH_RATE ?? 5000)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 4)
const startupOnly = process.env.BENCH_ONLY === 'startup'
if (process.env.BENCH_ONLY !== undefined && !startupOnly) {
  console.error(`bench/cost.mjs: BENCH_ONLY=${process.env.BENCH_ONLY} is not known (only "startup" is)`)
  process.exit(2)
}
const gauntletBin = fileURLToPath(new URL('../apps/controller/bin/gauntlet.js', import.meta.url))
const autocannonBin = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url))
const pacerBin = fileURLToPath(new URL('./even-pacer.mjs', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'gauntlet-cost-'))

const installed = (bin) => {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() !== ''
  } catch {
    return false
  }
}

/**
 * Runs `command args` to completion (bounded: killed after `limitS`) and returns its stdout and the CPU
 * (user + system, seconds) of it and its threads, from the shell's `times` after the child was reaped.
 * `threads` splits that CPU: the main thread and the load threads (named gauntlet-load-N by the agent) as
 * last read from /proc every 10 ms, and the rest (V8's compiler and GC helpers, libuv's pool, and whatever
 * the last 10 ms before a thread ended held) as the remainder.
 */
function measured(command, args, limitS) {
  return new Promise((resolve, reject) => {
    const out = join(dir, 'out.txt')
    const shell = spawn(
      'bash',
      ['-c', `timeout ${limitS} "$@" >${out} 2>${out}.err; echo "exit $?"; times`, 'measured', command, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const seen = new Map() // tid -> { main, load, ticks }
    const sampler = setInterval(() => sampleThreads(shell.pid, seen), 10)
    let text = ''
    shell.stdout.on('data', (chunk) => (text += chunk))
    shell.on('error', reject)
    shell.on('close', () => {
      clearInterval(sampler)
      const lines = text.trim().split('\n')
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.321s".
      const children = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '')
      if (!children) return reject(new Error(`no CPU times for ${command}: ${text}`))
      const cpuS = Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4])
      const sum = (f) => [...seen.values()].filter(f).reduce((s, t) => s + t.ticks / 100, 0)
      const main = sum((t) => t.main)
      const load = sum((t) => t.load)
      resolve({
        cpuS,
        threads: { main, load, other: Math.max(0, cpuS - main - load) },
        exit: lines[0],
        stdout: readFileSync(out, 'utf8'),
        stderr: readFileSync(`${out}.err`, 'utf8'),
      })
    })
  })
}

/** The CPU ticks so far of each thread of the tool under `shellPid` (bash -> timeout -> the tool), into `seen`. */
function sampleThreads(shellPid, seen) {
  let pid = shellPid
  try {
    // Down to the last process of the chain: the tool itself.
    for (let depth = 0; depth < 3; depth++) {
      const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]
      if (!child) break
      pid = Number(child)
    }
    if (pid === shellPid) return
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(') '))
        seen.set(`${pid}/${tid}`, {
          main: tid === String(pid),
          load: comm.startsWith('gauntlet-load'),
          ticks: Number(fields[11]) + Number(fields[12]),
        })
      } catch {
        // The thread ended between the listing and the read: its last reading stands.
      }
    }
  } catch {
    // Not started yet, or already gone; elsewhere than Linux there is no /proc and no split.
  }
}

/** A `gauntlet run` scenario of one step at `rps` for `durationS`, on a fixed pool of `pool` connections. */
function scenarioFile(name, url, rps, durationS, pool) {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    `name: ${name}\ntarget:\n  url: ${url}\n  timeout: 30s\nload:\n  connections: ${pool}\n` +
      `  steps:\n    - { rps: ${rps}, duration: ${durationS}s }\n`,
  )
  return file
}

/** Each tool: how to run it once, at a fixed rate, at maximum; each answers { ok, cpuS }. */
const tools = {
  autocannon: {
    label: 'autocannon 9 (raw)',
    async run(url, { rps, durationS, requests }) {
      const args = ['-j', '-c', String(requests ? 1 : connections)]
      if (requests) args.push('-a', String(requests))
      else args.push('-d', String(durationS))
      if (rps) args.push('-R', String(rps))
      const r = await measured('node', [autocannonBin, ...args, url], (durationS ?? 1) + 30)
      return { ok: JSON.parse(r.stdout)['2xx'], cpuS: r.cpuS, threads: r.threads }
    },
  },
  gauntlet: {
    label: 'gauntlet run',
    async run(url, { rps, durationS, requests }) {
      const file = requests
        ? scenarioFile('startup', url, 1, 1, 1)
        : scenarioFile('load', url, rps ?? 1_000_000, durationS, connections)
      const summary = join(dir, 'summary.json')
      rmSync(summary, { force: true })
      const db = join(dir, 'gauntlet.db')
      const r = await measured('node', [gauntletBin, 'run', file, '--quiet', '--db', db, '--summary', summary], 60)
      const steps = JSON.parse(readFileSync(summary, 'utf8')).steps
      return { ok: steps.reduce((n, s) => n + s.completed - s.errors, 0), cpuS: r.cpuS, threads: r.threads }
    },
  },
  wrk: {
    label: 'wrk (C, 1 thread)',
    available: installed('wrk'),
    async run(url, { rps, durationS, requests }) {
      if (rps || requests) return undefined // no fixed-rate mode, no request count
      const r = await measured('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, url], durationS + 30)
      const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN)
      const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0)
      return { ok: total - bad, cpuS: r.cpuS, threads: r.threads }
    },
  },
  pacer: {
    label: 'even pacer (floor)',
    async run(url, { rps, durationS, requests }) {
      if (!rps && !requests) return undefined // a reference for pacing, not a maximum-throughput tool
      const args = requests ? [url, '1', '1', '1'] : [url, String(rps), String(durationS), String(connections)]
      const r = await measured('node', [pacerBin, ...args], (durationS ?? 1) + 30)
      return { ok: JSON.parse(r.stdout).ok, cpuS: r.cpuS, threads: r.threads }
    },
  },
  hey: {
    label: 'hey (Go)',
    available: installed('hey'),
    async run(url, { rps, durationS, requests }) {
      const args = requests
        ? ['-n', String(requests), '-c', '1']
        : ['-z', `${durationS}s`, '-c', String(connections), ...(rps ? ['-q', String(rps / connections)] : [])]
      const r = await measured('hey', [...args, url], (durationS ?? 1) + 30)
      return { ok: Number(/\[200\]\s+(\d+) responses/.exec(r.stdout)?.[1] ?? 0), cpuS: r.cpuS, threads: r.threads }
    },
  },
}
const names = Object.keys(tools).filter((name) => tools[name].available !== false)

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')
const row = (cells, widths) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')

if (!nginxBinary) {
  console.error('bench/cost.mjs needs nginx as the common target: apt-get install nginx-light')
  process.exit(2)
}
console.log(
  `gauntlet bench (cost): ${seconds}s per run, ${connections} connections, ${rounds} rounds, node ${process.version}, ` +
    `${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
)
if (names.length < Object.keys(tools).length)
  console.log(
    `  (not installed: ${Object.keys(tools)
      .filter((n) => !names.includes(n))
      .join(', ')})`,
  )

const target = await startNginx()
const results = Object.fromEntries(names.map((name) => [name, { startup: [], startupThreads: [], fixed: [], max: [] }]))
try {
  for (let round = 0; round < rounds; round++) {
    // Every other round runs the tools in reverse order, so a drift in the machine's load is shared.
    for (const name of round % 2 ? [...names].reverse() : names) {
      const tool = tools[name]
      const startup = await tool.run(target.url, { requests: 1 })
      if (startup) {
        results[name].startup.push(startup.cpuS)
        results[name].startupThreads.push(startup.threads)
      }
      if (startupOnly) continue
      const fixed = await tool.run(target.url, { rps: rate, durationS: seconds })
      if (fixed) results[name].fixed.push(fixed)
      const max = await tool.run(target.url, { durationS: seconds })
      if (max) results[name].max.push(max)
    }
  }
} finally {
  await target.stop()
  rmSync(dir, { recursive: true, force: true })
}

/** ms of CPU per 1,000 successful requests: whole process, and net of the tool's start-up (median). */
const perThousand = (runs, startupS) => ({
  gross: median(runs.map((r) => (r.cpuS / r.ok) * 1e6)),
  net: median(runs.map((r) => (Math.max(0, r.cpuS - (startupS ?? 0)) / r.ok) * 1e6)),
  ok: median(runs.map((r) => r.ok)),
})
const summary = Object.fromEntries(
  names.map((name) => {
    const r = results[name]
    // wrk has no 1-request mode; its start-up (a C binary) is taken as nothing.
    const startupS = r.startup.length ? median(r.startup) : 0
    return [
      name,
      {
        startupS,
        fixed: r.fixed.length ? perThousand(r.fixed, startupS) : undefined,
        max: r.max.length
          ? { ...perThousand(r.max, startupS), rate: median(r.max.map((m) => m.ok / seconds)) }
          : undefined,
      },
    ]
  }),
)
const base = summary.autocannon
const widths = [20, 14, 16, 16, 16, 20]

console.log(`\nStart-up: CPU of a 1-request run (whole process)`)
console.log(row(['tool', 'CPU ms', 'ratio to autocannon', 'rounds'], [20, 10, 20, 20]))
for (const name of names) {
  const s = summary[name]
  console.log(
    row(
      [
        tools[name].label,
        results[name].startup.length ? fmt(s.startupS * 1000) : 'n/a',
        results[name].startup.length ? fmt(s.startupS / base.startupS, 2) : 'n/a',
        results[name].startup.map((c) => fmt(c * 1000)).join(', ') || 'n/a',
      ],
      [20, 10, 20, 20],
    ),
  )
}

for (const [mode, title] of startupOnly
  ? []
  : [
      ['fixed', `Fixed rate ${rate} rps for ${seconds}s`],
      ['max', `Maximum throughput for ${seconds}s`],
    ]) {
  console.log(`\n${title}: CPU ms per 1,000 successful requests (whole process; net = minus its start-up)`)
  console.log(
    row(
      [
        'tool',
        'ok (median)',
        'CPU/1k gross',
        'CPU/1k net',
        'net vs autocannon',
        mode === 'max' ? 'req/s (vs autocannon)' : '',
      ],
      widths,
    ),
  )
  for (const name of names) {
    const s = summary[name][mode]
    if (!s) {
      console.log(row([tools[name].label, `n/a (no ${mode === 'max' ? 'maximum' : 'fixed-rate'} mode)`], widths))
      continue
    }
    console.log(
      row(
        [
          tools[name].label,
          fmt(s.ok),
          fmt(s.gross, 1),
          fmt(s.net, 1),
          fmt(s.net / base[mode].net, 2),
          mode === 'max' ? `${fmt(s.rate)} (${fmt(s.rate / base.max.rate, 2)})` : '',
        ],
        widths,
      ),
    )
  }
}

// Where each tool's CPU went at the fixed rate, by thread: Gauntlet's load thread does what a generator's
// one thread does; the rest is what its design adds beside it.
if (!startupOnly) {
  const parts = [
    ['main', 'main thread'],
    ['load', 'load threads'],
    ['other', 'other threads'],
  ]
  console.log(
    `\nFixed rate ${rate} rps, by thread: CPU ms per 1,000 successful requests, net of the start-up run's same threads`,
  )
  console.log(
    `(main and load threads read from /proc every 10 ms; "other" is the rest: V8's compiler and GC helpers, libuv)`,
  )
  console.log(row(['tool', ...parts.map(([, label]) => label), 'total'], [20, 14, 14, 14, 14]))
  for (const name of names) {
    const runs = results[name].fixed
    if (runs.length === 0 || runs.some((r) => !r.threads)) continue
    const before = (key) => median(results[name].startupThreads.map((t) => t?.[key] ?? 0))
    const net = (key) => median(runs.map((r) => (Math.max(0, r.threads[key] - before(key)) / r.ok) * 1e6))
    const cells = parts.map(([key]) => net(key))
    console.log(
      row(
        [
          tools[name].label,
          ...cells.map((c, i) => (parts[i][0] === 'load' && name !== 'gauntlet' ? '-' : fmt(c, 1))),
          fmt(summary[name].fixed.net, 1),
        ],
        [20, 14, 14, 14, 14],
      ),
    )
  }
}

// Per round, side by side: Gauntlet against raw autocannon (the goals of issue 16).
const perRound = (mode, f) =>
  results.gauntlet[mode].map((g, i) => f(g, results.autocannon[mode][i])).map((x) => fmt(x, 2))
const startupRatio = summary.gauntlet.startupS / base.startupS
console.log(`\nGauntlet against raw autocannon (goals):`)
if (!startupOnly) {
  const fixedRatio = summary.gauntlet.fixed.net / base.fixed.net
  const maxRatios = results.gauntlet.max.map((g, i) => g.ok / results.autocannon.max[i].ok)
  const pooledMaxRatio =
    results.gauntlet.max.reduce((n, g) => n + g.ok, 0) / results.autocannon.max.reduce((n, a) => n + a.ok, 0)
  console.log(
    `  CPU per request at ${rate} rps (net): ${fmt(fixedRatio, 2)}x (rounds ${perRound('fixed', (g, a) => (g.cpuS - summary.gauntlet.startupS) / g.ok / ((a.cpuS - base.startupS) / a.ok)).join(', ')}); ` +
      `goal <= 1.1x: ${fixedRatio <= 1.1 ? 'met' : 'MISSED'}`,
  )
  if (summary.pacer?.fixed)
    console.log(
      `  the floor of even pacing (bench/even-pacer.mjs) at ${rate} rps: ${fmt(summary.pacer.fixed.net / base.fixed.net, 2)}x ` +
        `autocannon; Gauntlet over that floor: ${fmt(summary.gauntlet.fixed.net / summary.pacer.fixed.net, 2)}x`,
    )
  console.log(
    `  maximum throughput: ${fmt(pooledMaxRatio, 2)}x over ${rounds} rounds (per round ${maxRatios.map((r) => fmt(r, 2)).join(', ')}); ` +
      `goal >= 0.95x: ${pooledMaxRatio >= 0.95 ? 'met' : 'MISSED'}`,
  )
}
console.log(
  `  start-up CPU: ${fmt(startupRatio, 2)}x (rounds ${perRound('startup', (g, a) => g / a).join(', ')}); ` +
    `goal <= 2x: ${startupRatio <= 2 ? 'met' : 'MISSED'}`,
)
