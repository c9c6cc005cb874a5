#!/usr/bin/env node
// `npm run bench`: Gauntlet's load generator side by side with its peers, in one run, on loopback.
// Prints ratios (the machine is shared and noisy); no pass/fail. Every load is bounded in time.
import autocannon from 'autocannon'
import { execFileSync, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { LoadGenerator } from '../apps/agent/dist/index.js'
import { nginxBinary, startNginx } from '../test/helpers/nginx.mjs'

const root = new URL('..', import.meta.url).pathname
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)

const which = (bin) => {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

async function startProcess(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /listening (\S+)/.exec(line)
      if (match) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}`)))
  })
  return { url, stop: () => child.kill('SIGKILL') }
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
  await new LoadGenerator({ target: targetOf(url), steps: [{ rps: 1_000_000, durationS: seconds + 5 }], timeoutMs: 600_000, connections, maxConnections: connections }).run({
    signal: abort.signal,
    onWindow: (w) => (ok += w.ok),
  })
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
  await new LoadGenerator({ target: targetOf(url), steps: [{ rps, durationS: seconds }], timeoutMs: 5000, maxConnections: 2000 }).run({ onWindow: (w) => windows.push(w) })
  const sent = windows.reduce((n, w) => n + w.sent, 0)
  const worstDeviation = Math.max(...windows.slice(1).map((w) => Math.abs(w.sent - w.planned) / w.planned))
  return { sent, worstDeviation, limited: windows.filter((w) => w.generatorLimited).length }
}

async function autocannonPaced(url, rps) {
  const result = await autocannon({ url, connections: Math.min(connections, rps), overallRate: rps, duration: seconds })
  return { sent: result.requests.total }
}

async function arrivals(recorderUrl) {
  const list = await (await fetch(`${recorderUrl}/__arrivals`)).json()
  const slices = new Array(Math.ceil(seconds * 10)).fill(0)
  for (const t of list) if (t < seconds * 1000) slices[Math.floor(t / 100)]++
  return { count: list.length, min: Math.min(...slices.slice(0, -1)), max: Math.max(...slices.slice(0, -1)) }
}

const row = (cells, widths) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ')
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

console.log(`gauntlet bench: ${seconds}s per measurement, node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`)

// 1. Maximum throughput with the same connections against the same target.
const target = nginxBinary ? { ...(await startNginx()), name: 'nginx (1 worker, static file)' } : { ...(await startProcess(process.execPath, [`${root}apps/demo-target/bin/demo-target.js`])), name: 'demo target (node)' }
if (!nginxBinary) target.url = `${target.url}/`
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

// 2. Rate accuracy and pacing evenness, seen by a server that timestamps every arrival.
console.log(`\nRate accuracy and pacing, ${seconds}s per rate, target: arrival recorder (node, own process)`)
const w2 = [7, 22, 10, 26, 28]
console.log(row(['rps', 'tool', 'sent', 'worst window vs plan', '100ms slices min/max (share)'], w2))
for (const rps of [1000, 10000]) {
  for (const tool of ['gauntlet', 'autocannon']) {
    const recorder = await startProcess(process.execPath, [`${root}test/helpers/arrival-server.mjs`])
    const result = tool === 'gauntlet' ? await gauntletPaced(`${recorder.url}/`, rps) : await autocannonPaced(`${recorder.url}/`, rps)
    const slices = await arrivals(recorder.url)
    recorder.stop()
    const accuracy = tool === 'gauntlet' ? `${fmt(result.worstDeviation * 100, 2)}%${result.limited ? ` (${result.limited} limited)` : ''}` : 'n/a (no windows)'
    console.log(row([rps, tool, `${result.sent}/${rps * seconds}`, accuracy, `${slices.min}/${slices.max} (${rps / 10})`], w2))
  }
}
