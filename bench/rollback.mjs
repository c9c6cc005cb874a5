#!/usr/bin/env node
// `node bench/rollback.mjs` (also run by `npm run bench`): how fast a breach becomes a rollback.
//
// A real `gauntlet run` (embedded agent, temporary SQLite db) loads the demo target at 200 rps in one
// 30 s step. When the run prints its 5th second, this script turns the target's error rate to 50%
// (PUT /__knobs): that moment is the breach (the next request, within 5 ms at 200 rps, is the first
// breaching one). Measured, per round, on this host's clock:
//   - breach -> the onRollback hook's arrival at a receiver in this process;
//   - breach -> the fault's revert (summary faults[].revertedAt), when a Docker engine answers and the
//     Docker tests' busybox image exists: a partition fault on a throwaway container runs during the
//     load, so the rollback has a real fault to revert first (needs root).
// Side by side in the same run, the peer: the same scenario judged by per-step thresholds (like a
// whole-period threshold), which can only stop the run when the step's windows are all in.
// Goal: the hook within 2 evaluation windows of the breach (here 2 s: 200 requests a window).
// Prints figures and ratios; no pass/fail. Every run is bounded (30 s of load, 60 s per round).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const gauntletBin = fileURLToPath(new URL('../apps/controller/bin/gauntlet.js', import.meta.url))
const demoTargetBin = fileURLToPath(new URL('../apps/demo-target/bin/demo-target.js', import.meta.url))
const busyboxImage = 'gauntlet-test/busybox:1'

/** Spawns a process and resolves the first stdout line matching `pattern` (bounded by `timeoutMs`). */
function startAndWait(args, pattern, env = {}, timeoutMs = 20_000) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  const lines = createInterface({ input: child.stdout })
  const waitFor = (re) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line ${re} within ${timeoutMs} ms`)), timeoutMs)
      const onLine = (line) => {
        if (!re.test(line)) return
        clearTimeout(timer)
        lines.off('line', onLine)
        resolve(line)
      }
      lines.on('line', onLine)
    })
  return { child, first: waitFor(pattern), waitFor }
}

async function faultContainer() {
  if (process.getuid?.() !== 0) return { skip: 'not root' }
  let Docker
  try {
    Docker = (await import('dockerode')).default
  } catch {
    return { skip: 'dockerode not installed' }
  }
  const docker = new Docker()
  try {
    await docker.ping()
    await docker.getImage(busyboxImage).inspect()
  } catch {
    return { skip: `no Docker engine, or no ${busyboxImage} image (run the Docker tests once)` }
  }
  const container = await docker.createContainer({
    Image: busyboxImage,
    Cmd: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
    Labels: { 'gauntlet.bench': '1' },
    HostConfig: { NetworkMode: 'bridge' },
  })
  await container.start()
  const name = (await container.inspect()).Name.replace(/^\//, '')
  return { name, remove: () => container.remove({ force: true }) }
}

async function round(kind, targetUrl, hookUrl, hookArrivals, fault) {
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-bench-rollback-'))
  const judge =
    kind === 'guard'
      ? `decision:\n  guards:\n` +
        `    - { name: errors-abort, kind: abort, require: "error_rate < 15%", minSamples: 200 }\n`
      : `thresholds: ["error_rate < 15%"]\n`
  const faults = fault.name
    ? `faults:\n  - { type: partition, target: { container: ${fault.name} }, at: 1s, duration: 60s }\n`
    : ''
  const scenario = `name: bench-rollback-${kind}
target: { url: "${targetUrl}/orders", timeout: 2s }
load: { steps: [ { rps: 200, duration: 30s } ] }
${judge}${faults}hooks:
  onRollback: [ { url: "${hookUrl}" } ]
`
  writeFileSync(join(dir, 'scenario.yaml'), scenario)
  const summaryFile = join(dir, 'summary.json')
  const run = startAndWait(
    [gauntletBin, 'run', join(dir, 'scenario.yaml'), '--db', join(dir, 'g.db'), '--summary', summaryFile],
    /^\s+5s\s/,
    { GAUNTLET_TARGET_ALLOW: '127.0.0.0/8', GAUNTLET_FAULT_JOURNAL: join(dir, 'faults.jsonl') },
    60_000,
  )
  try {
    await run.first
    hookArrivals.length = 0
    await fetch(`${targetUrl}/__knobs`, { method: 'PUT', body: JSON.stringify({ errorRate: 0.5 }) })
    const breachAt = Date.now()
    const exit = once(run.child, 'exit')
    const deadline = setTimeout(() => run.child.kill('SIGKILL'), 60_000)
    await exit
    clearTimeout(deadline)
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'))
    const hookAt = hookArrivals[0]
    const revertedAt = summary.faults?.[0]?.revertedAt ? Date.parse(summary.faults[0].revertedAt) : undefined
    return {
      hookMs: hookAt === undefined ? undefined : hookAt - breachAt,
      revertMs: revertedAt === undefined ? undefined : revertedAt - breachAt,
      verdict: summary.verdict,
    }
  } finally {
    await fetch(`${targetUrl}/__knobs`, { method: 'PUT', body: JSON.stringify({ errorRate: 0 }) }).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b)
  return s.length === 0 ? undefined : s[Math.floor((s.length - 1) / 2)]
}
const ms = (x) => (x === undefined ? '-' : `${Math.round(x)} ms`)

const target = startAndWait([demoTargetBin, '--port', '0', '--latency', '2'], /listening (\S+)/)
const targetUrl = /listening (\S+)/.exec(await target.first)[1]
const hookArrivals = []
const receiver = createServer((req, res) => {
  hookArrivals.push(Date.now())
  req.resume()
  req.on('end', () => res.writeHead(204).end())
}).listen(0, '127.0.0.1')
await once(receiver, 'listening')
const hookUrl = `http://127.0.0.1:${receiver.address().port}/rollback`
const fault = await faultContainer()

try {
  const results = { guard: [], thresholds: [] }
  for (let i = 0; i < rounds; i++) {
    for (const kind of ['guard', 'thresholds'])
      results[kind].push(await round(kind, targetUrl, hookUrl, hookArrivals, fault))
  }
  console.log(`rollback latency: 200 rps, one 30 s step, 50% errors from second 5 (${rounds} round(s) each; median)`)
  console.log(`fault to revert: ${fault.name ? `partition on container ${fault.name}` : `none (${fault.skip})`}`)
  console.log('judge                                  breach -> onRollback hook   breach -> fault reverted   verdicts')
  for (const [kind, label] of [
    ['guard', 'windowed abort guard (1 s windows)'],
    ['thresholds', 'per-step threshold (peer)'],
  ]) {
    const r = results[kind]
    console.log(
      `${label.padEnd(39)}${ms(median(r.map((x) => x.hookMs))).padEnd(28)}` +
        `${ms(median(r.map((x) => x.revertMs))).padEnd(27)}${r.map((x) => x.verdict).join(',')}`,
    )
  }
  const ratio = median(results.thresholds.map((x) => x.hookMs)) / median(results.guard.map((x) => x.hookMs))
  console.log(`the windowed guard reaches the rollback hook ${ratio.toFixed(1)}x sooner than the per-step threshold`)
} finally {
  receiver.close()
  target.child.kill('SIGKILL')
  await fault.remove?.()
}
