#!/usr/bin/env node
// `npm run bench`: Gauntlet's load generator side by side with its peers, in one run, on loopback.
// Gauntlet runs as `gauntlet run` runs it: the generator on its own worker thread.
// Prints ratios (the machine is shared and noisy); no pass/fail. Every load is bounded in time.
import autocannon from 'autocannon'
import { execFileSync } from 'node:child_process'
import { runLoadInWorker } from '../apps/agent/dist/index.js'
import { nginxBinary, startNginx } from '../test/helpers/nginx.mjs'

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)

const which = (bin) => {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

function targetOf(url) {
  const u = new URL(url)
  return { protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, method: 'GET', headers: {} }
}

async function gauntletMax(url) {
  // An open-model schedule far above what the target can serve, on a fixed pool: every connection
  // always has a due request, so this is the generator's closed-loop ceiling. Stopped after `seconds`.
  let ok = 0
  const abort = new AbortController()
  const started = performance.now()
  const timer = setTimeout(() => abort.abort(), seconds * 1000)
  await runLoadInWorker(
    {
      target: targetOf(url),
      steps: [{ rps: 1_000_000, durationS: seconds + 5, step: 0 }],
      timeoutMs: 600_000,
      connections,
      maxConnections: connections,
    },
    {
      signal: abort.signal,
      onWindow: (w) => (ok += w.ok),
    },
  )
  clearTimeout(timer)
  return ok / ((performance.now() - started) / 1000)
}

async function autocannonMax(url) {
  const result = await autocannon({ url, connections, duration: seconds })
  // Successful responses only, like the Gauntlet figure (autocannon's total counts error answers too).
  return result['2xx'] / (result.duration || seconds)
}

function wrkMax(url) {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' })
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
}

async function gauntletPaced(url, rps) {
  const windows = []
  await runLoadInWorker(
    { target: targetOf(url), steps: [{ rps, durationS: seconds, step: 0 }], timeoutMs: 5000, maxConnections: 2000 },
    { onWindow: (w) => windows.push(w) },
  )
  const sent = windows.reduce((n, w) => n + w.sent, 0)
  const worstDeviation = Math.max(...windows.slice(1).map((w) => Math.abs(w.sent - w.planned) / w.planned))
  return { sent, worstDeviation, limited: windows.filter((w) => w.generatorLimited).length }
}

async function autocannonPaced(url, rps) {
  const result = await autocannon({ url, connections: Math.min(connections, rps), overallRate: rps, duration: seconds })
  return { sent: result.requests.total }
}

/**
 * Arrivals per 100 ms slice: min/max over the whole run and after its first second (the last, partial slice left
 * out).
 */
function sliceCounts(arrivalsMs) {
  const slices = new Array(Math.ceil(seconds * 10)).fill(0)
  for (const t of arrivalsMs) if (t < seconds * 1000) slices[Math.floor(t / 100)]++
  const whole = slices.slice(0, -1)
  const steady = slices.slice(10, -1)
  return `${Math.min(...whole)}/${Math.max(...whole)}; after 1st s ${Math.min(...steady)}/${Math.max(...steady)}`
}

const row = (cells, widths) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

console.log(
  `gauntlet bench: ${seconds}s per measurement, ` +
    `node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`,
)

// 1. Maximum throughput with the same connections against the same target.
if (!nginxBinary) {
  console.error('npm run bench needs nginx as the common target: apt-get install nginx-light')
  process.exit(2)
}
const target = { ...(await startNginx()), name: 'nginx (1 worker, static file)' }
console.log(`Maximum throughput, ${connections} connections, target: ${target.name}`)
const results = []
results.push(['autocannon 9 (raw)', await autocannonMax(target.url)])
results.push(['gauntlet agent', await gauntletMax(target.url)])
if (which('wrk')) results.push(['wrk (C, 1 thread)', wrkMax(target.url)])
else console.log('  (wrk not installed: apt-get install wrk)')
const base = results[0][1]
const w1 = [20, 12, 18]
console.log(row(['tool', 'req/s', 'ratio to autocannon'], w1))
for (const [name, rate] of results) console.log(row([name, fmt(rate), fmt(rate / base, 2)], w1))
await target.stop()

// 2. Rate accuracy and pacing evenness, seen by nginx logging every arrival (a C server, not the limit).
console.log(`\nRate accuracy and pacing, ${seconds}s per rate, target: nginx logging each arrival ($msec)`)
const w2 = [6, 11, 12, 28, 44]
console.log(row(['rps', 'tool', 'sent', 'worst window after 1st s', '100ms slices min/max (share)'], w2))
for (const rps of [1000, 10000]) {
  for (const tool of ['gauntlet', 'autocannon']) {
    const recorder = await startNginx({ logArrivals: true })
    const result =
      tool === 'gauntlet' ? await gauntletPaced(recorder.url, rps) : await autocannonPaced(recorder.url, rps)
    const slices = sliceCounts(await recorder.arrivals())
    const accuracy =
      tool === 'gauntlet'
        ? `${fmt(result.worstDeviation * 100, 2)}%${result.limited ? ` (${result.limited} window limited)` : ''}`
        : 'n/a (no windows)'
    console.log(row([rps, tool, `${result.sent}/${rps * seconds}`, accuracy, `${slices} (share ${rps / 10})`], w2))
  }
}
