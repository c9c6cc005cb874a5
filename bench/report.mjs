#!/usr/bin/env node
// `node bench/report.mjs`: what a run's report costs to make, for runs of 5 minutes, 1 hour and 6 hours.
//
// Synthetic merged windows (500 responses a second, histograms made by the real encoder, a 60 s delay
// fault in the middle) go through the real builder (buildRunReport: per-second series and the root
// cause) and the real renderers (HTML with its inline chart library, Markdown, JUnit). Side by side, the
// floor any report must pay: decoding each second's histogram once. Prints figures and ratios (the
// machine is shared and noisy); no pass/fail. Bounded: at most 6 h of synthetic seconds.
import { createLatencyHistogram, decodeHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { renderHtmlReport } from '../apps/controller/dist/report/html-report.js'
import { renderJunitReport } from '../apps/controller/dist/report/junit-report.js'
import { renderMarkdownReport } from '../apps/controller/dist/report/markdown-report.js'
import { loadReportAssets } from '../apps/controller/dist/report/report-assets.js'
import { buildRunReport } from '../apps/controller/dist/report/run-report.js'

const start = Date.parse('2026-12-02T00:00:00Z')
const iso = (s) => new Date(start + s * 1000).toISOString()

/** `n` seconds at 500 rps; seconds [n/2, n/2 + 60) are under a 100 ms delay fault. */
function syntheticRun(n) {
  const faultFrom = Math.floor(n / 2)
  const histograms = Array.from({ length: 32 }, (_, k) => {
    const h = createLatencyHistogram()
    for (let i = 0; i < 500; i++) recordLatencyUs(h, 5_000 + ((i * 37 + k * 101) % 20_000))
    return encodeHistogram(h)
  })
  const slow = createLatencyHistogram()
  for (let i = 0; i < 500; i++) recordLatencyUs(slow, 105_000 + ((i * 37) % 20_000))
  const slowEncoded = encodeHistogram(slow)
  const windows = Array.from({ length: n }, (_, i) => {
    const faulted = i >= faultFrom && i < faultFrom + 60
    return {
      index: i,
      step: Math.min(3, Math.floor(i / (n / 4))),
      startedAt: start + i * 1000,
      planned: 500,
      sent: 500,
      dispatched: 500,
      dropped: 0,
      ok: 495,
      errors: { status: { 503: 5 }, timeout: 0, refused: 0, reset: 0, other: 0 },
      latency: faulted ? slowEncoded : histograms[i % histograms.length],
      lateSends: 0,
      maxSendLagMs: 1,
      generatorLimited: false,
      complete: true,
      openConnections: 20,
      ...(faulted ? { faults: ['f1-delay'] } : {}),
    }
  })
  const step = (index) => ({
    index,
    plannedRps: 500,
    achievedRps: 500,
    durationS: n / 4,
    warmupS: 5,
    planned: 125 * n,
    sent: 125 * n,
    completed: 125 * n,
    errors: 1.25 * n,
    errorRate: 0.01,
    errorsByClass: { status: { 503: 1.25 * n }, timeout: 0, refused: 0, reset: 0, other: 0 },
    p50Ms: 15,
    p90Ms: 23,
    p99Ms: 25,
    maxMs: 125,
    generatorLimited: false,
    verdict: 'pass',
    thresholds: [{ threshold: 'p99 < 200ms', metric: 'p99', observed: 25, limit: 200, pass: true }],
  })
  const summary = {
    runId: `bench-${n}s`,
    status: 'passed',
    scenario: 'bench',
    target: 'http://127.0.0.1:9/orders',
    verdict: 'pass',
    capacityRps: 500,
    reasons: [],
    warnings: [],
    startedAt: iso(0),
    finishedAt: iso(n),
    steps: [0, 1, 2, 3].map(step),
    faults: [
      {
        id: 'f1-delay',
        type: 'delay',
        mechanism: 'proxy',
        targets: ['orders'],
        plannedApplyAt: iso(faultFrom),
        appliedAt: iso(faultFrom),
        plannedRevertAt: iso(faultFrom + 60),
        revertedAt: iso(faultFrom + 60),
        revertVerified: true,
        notes: [],
      },
    ],
  }
  return { summary, windows }
}

const cpuMs = (from) => {
  const used = process.cpuUsage(from)
  return (used.user + used.system) / 1000
}

const assets = loadReportAssets()
console.log('seconds  decode-floor  build  build/floor  html  md  junit  html-size  suspect #1')
for (const n of [300, 3_600, 21_600]) {
  const { summary, windows } = syntheticRun(n)
  let cpu = process.cpuUsage()
  for (const w of windows) decodeHistogram(w.latency)
  const floor = cpuMs(cpu)
  cpu = process.cpuUsage()
  const report = buildRunReport({ runId: summary.runId, summary, windows, targetSeries: {} })
  const build = cpuMs(cpu)
  cpu = process.cpuUsage()
  const html = renderHtmlReport(report, assets)
  const htmlMs = cpuMs(cpu)
  cpu = process.cpuUsage()
  renderMarkdownReport(report)
  const mdMs = cpuMs(cpu)
  cpu = process.cpuUsage()
  renderJunitReport(report, { strict: false })
  const junitMs = cpuMs(cpu)
  console.log(
    [
      String(n).padStart(7),
      `${floor.toFixed(0)} ms`.padStart(13),
      `${build.toFixed(0)} ms`.padStart(9),
      `${(build / floor).toFixed(1)}x`.padStart(12),
      `${htmlMs.toFixed(0)} ms`.padStart(6),
      `${mdMs.toFixed(0)} ms`.padStart(6),
      `${junitMs.toFixed(0)} ms`.padStart(7),
      `${(html.length / 1024).toFixed(0)} KB`.padStart(10),
      ` ${report.rootCause?.suspects[0]?.subject ?? '-'}`,
    ].join(' '),
  )
}
