#!/usr/bin/env node
// `npm run bench`: Gauntlet's load generator side by side with its peers, in one run, on loopback.
// Gauntlet runs as `gauntlet run` runs it: the generator on its own worker thread. Beside its single fixed
// request, the same generator sends a 3-request mix with templated bodies (throughput, rate accuracy, pacing).
// Prints ratios (the machine is shared and noisy) and, for the mix, whether each goal was met in this run;
// it never fails on them (exit 0). Every load is bounded in time.
import autocannon from 'autocannon'
import { execFileSync } from 'node:child_process'
import { runLoadInWorker } from '../apps/agent/dist/index.js'
import { totalErrors } from '../packages/contracts/dist/index.js'
import { nginxBinary, startNginx } from '../test/helpers/nginx.mjs'
import { startMixTarget } from './mix-target.mjs'

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

/**
 * A 3-request mix with templated bodies (issue 15): 70% GET of a product from a 300-row data set,
 * 20% POST of a small fixed JSON body, 10% POST of a JSON body rendered per send (uuid, randomInt, seq).
 * Each request counted apart in the windows, as a scenario's `requests:` is.
 */
const mixPlan = {
  mix: [
    { name: 'product', weight: 70, method: 'GET', path: '/products/{{ data.skus.sku }}', headers: {} },
    {
      name: 'cart',
      weight: 20,
      method: 'POST',
      path: '/cart',
      headers: { 'content-type': 'application/json' },
      body: '{"sku":"SKU-00042","qty":1}',
    },
    {
      name: 'order',
      weight: 10,
      method: 'POST',
      path: '/orders',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"{{ uuid }}","qty":{{ randomInt 1 5 }},"n":{{ seq }}}',
    },
  ],
  perRequest: true,
  data: {
    skus: {
      columns: ['sku'],
      rows: Array.from({ length: 300 }, (_, i) => [`SKU-${String(i + 1).padStart(5, '0')}`]),
      order: 'sequential',
    },
  },
}
const mixWeights = Object.fromEntries(mixPlan.mix.map((r) => [r.name, r.weight]))
/** How the target's access log tells the mix's requests apart (by path). */
const mixPaths = { product: '/products/', cart: '/cart', order: '/orders' }

async function gauntletMax(url, extra = {}) {
  // An open-model schedule far above what the target can serve, on a fixed pool: every connection
  // always has a due request, so this is the generator's closed-loop ceiling. Stopped after `seconds`.
  let ok = 0
  let errors = 0
  const byRequest = {}
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
      ...extra,
    },
    {
      signal: abort.signal,
      onWindow: (w) => {
        ok += w.ok
        errors += totalErrors(w.errors)
        for (const [name, counts] of Object.entries(w.requests ?? {}))
          byRequest[name] = (byRequest[name] ?? 0) + counts.ok
      },
    },
  )
  clearTimeout(timer)
  const rate = ok / ((performance.now() - started) / 1000)
  return extra.mix ? { rate, errors, byRequest } : rate
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

async function gauntletPaced(url, rps, extra = {}) {
  const windows = []
  await runLoadInWorker(
    {
      target: targetOf(url),
      steps: [{ rps, durationS: seconds, step: 0 }],
      timeoutMs: 5000,
      maxConnections: 2000,
      ...extra,
    },
    { onWindow: (w) => windows.push(w) },
  )
  const sent = windows.reduce((n, w) => n + w.sent, 0)
  const worstDeviation = Math.max(...windows.slice(1).map((w) => Math.abs(w.sent - w.planned) / w.planned))
  const errors = windows.reduce((n, w) => n + totalErrors(w.errors), 0)
  return { sent, worstDeviation, limited: windows.filter((w) => w.generatorLimited).length, errors }
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
  return {
    text: `${Math.min(...whole)}/${Math.max(...whole)}; after 1st s ${Math.min(...steady)}/${Math.max(...steady)}`,
    max: Math.max(...whole),
    steadyMax: Math.max(...steady),
  }
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

// 1b. The same generator sending a 3-request mix with templated bodies (issue 15) beside its single fixed
// request, both against one nginx that answers any path and method (`return 200`), alternating so drift
// on this shared machine falls on both. Goal: the mix keeps >= 0.85x the fixed request's throughput.
const rounds = Number(process.env.BENCH_MIX_ROUNDS ?? 2)
const mixTarget = await startMixTarget()
console.log(
  `\nRequest mix, ${connections} connections, target: nginx (1 worker, return 200 for any path and method), ` +
    `${rounds} alternating rounds`,
)
const fixedRates = []
const mixRuns = []
for (let round = 0; round < rounds; round++) {
  fixedRates.push(await gauntletMax(mixTarget.url))
  mixRuns.push(await gauntletMax(mixTarget.url, mixPlan))
}
await mixTarget.stop()
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const fixedRate = mean(fixedRates)
const mixRate = mean(mixRuns.map((r) => r.rate))
const mixOk = {}
for (const r of mixRuns) for (const [name, n] of Object.entries(r.byRequest)) mixOk[name] = (mixOk[name] ?? 0) + n
const mixOkTotal = Object.values(mixOk).reduce((a, b) => a + b, 0)
const w3 = [37, 12, 22, 14]
console.log(row(['gauntlet agent sends', 'req/s (mean)', 'rounds', 'ratio to fixed'], w3))
console.log(row(['fixed GET /index.html', fmt(fixedRate), fixedRates.map((r) => fmt(r)).join(', '), '1.00'], w3))
console.log(
  row(
    [
      'mix 70/20/10 (templated, perRequest)',
      fmt(mixRate),
      mixRuns.map((r) => fmt(r.rate)).join(', '),
      fmt(mixRate / fixedRate, 2),
    ],
    w3,
  ),
)
console.log(
  `mix/fixed = ${fmt(mixRate / fixedRate, 2)}: ${mixRate / fixedRate >= 0.85 ? 'meets' : 'MISSES'} the >= 0.85 goal; ` +
    `mix answers not 2xx: ${mixRuns.reduce((n, r) => n + r.errors, 0)}; ok split ` +
    Object.entries(mixOk)
      .map(([name, n]) => `${name} ${fmt((n / mixOkTotal) * 100, 1)}%`)
      .join(', '),
)

// 2. Rate accuracy and pacing evenness, seen by nginx logging every arrival (a C server, not the limit).
console.log(`\nRate accuracy and pacing, ${seconds}s per rate, target: nginx logging each arrival ($msec)`)
const w2 = [6, 13, 12, 28, 44]
console.log(row(['rps', 'tool', 'sent', 'worst window after 1st s', '100ms slices min/max (share)'], w2))
// The mix's rows (tool `gauntlet mix`) run against the catch-all nginx (bench/mix-target.mjs: `return 200`
// for any path and method), logging each arrival's time and path the same way.
const verdicts = []
for (const rps of [1000, 10000]) {
  for (const tool of ['gauntlet', 'gauntlet mix', 'autocannon']) {
    const recorder =
      tool === 'gauntlet mix' ? await startMixTarget({ logArrivals: true }) : await startNginx({ logArrivals: true })
    const result =
      tool === 'gauntlet'
        ? await gauntletPaced(recorder.url, rps)
        : tool === 'gauntlet mix'
          ? await gauntletPaced(recorder.url, rps, mixPlan)
          : await autocannonPaced(recorder.url, rps)
    const arrivals = await recorder.arrivals()
    const slices = sliceCounts(arrivals.map((a) => (typeof a === 'number' ? a : a.t)))
    const accuracy = tool.startsWith('gauntlet')
      ? `${fmt(result.worstDeviation * 100, 2)}%${result.limited ? ` (${result.limited} window limited)` : ''}`
      : 'n/a (no windows)'
    console.log(row([rps, tool, `${result.sent}/${rps * seconds}`, accuracy, `${slices.text} (share ${rps / 10})`], w2))
    if (tool.startsWith('gauntlet')) {
      const split =
        tool === 'gauntlet mix'
          ? Object.entries(mixPaths)
              .map(([name, prefix]) => {
                const n = arrivals.filter((a) =>
                  prefix.endsWith('/') ? a.path.startsWith(prefix) : a.path === prefix,
                ).length
                return `${name} ${fmt((n / arrivals.length) * 100, 1)}% (${mixWeights[name]})`
              })
              .join(', ')
          : undefined
      verdicts.push({ rps, tool, result, slices, split })
    }
  }
}
const yes = (ok) => (ok ? 'yes' : 'NO')
console.log(
  `\nAgainst the goals (every window after the 1st s within ±2% of plan; no 100 ms slice over 1.5× its share):`,
)
for (const { rps, tool, result, slices, split } of verdicts) {
  const share = rps / 10
  console.log(
    `  ${String(rps).padEnd(6)}${tool.padEnd(14)}worst window ${fmt(result.worstDeviation * 100, 2)}% ` +
      `(±2%: ${yes(result.worstDeviation <= 0.02)}); worst slice ${fmt(slices.max / share, 2)}× share, ` +
      `after 1st s ${fmt(slices.steadyMax / share, 2)}× ` +
      `(≤1.5× after 1st s: ${yes(slices.steadyMax <= 1.5 * share)}); ` +
      `${result.errors} not 2xx` +
      (split ? `\n${' '.repeat(22)}split seen by nginx: ${split}` : ''),
  )
}
