import { createLatencyHistogram, encodeHistogram, recordLatencyUs } from '@gauntlet/metrics'
import { buildRunReport } from './dist/report/run-report.js'
import { renderHtmlReport } from './dist/report/html-report.js'
import { loadReportAssets } from './dist/report/report-assets.js'
const n = Number(process.argv[2] ?? 3600)
const t0 = Date.now()
const windows = []
const start = Date.parse('2026-12-02T00:00:00Z')
for (let i = 0; i < n; i++) {
  const h = createLatencyHistogram()
  for (let k = 0; k < 500; k++) recordLatencyUs(h, 5000 + Math.random() * 20000 + (i > n/2 && i < n/2+60 ? 100000 : 0))
  windows.push({ index: i, step: Math.floor(i / (n / 4)), startedAt: start + i * 1000, planned: 500, sent: 500, dispatched: 500, dropped: 0, ok: 495, errors: { status: { 503: 5 }, timeout: 0, refused: 0, reset: 0, other: 0 }, latency: encodeHistogram(h), lateSends: 0, maxSendLagMs: 1, generatorLimited: false, complete: true, openConnections: 20, ...(i > n/2 && i < n/2+60 ? { faults: ['f1'] } : {}) })
}
const steps = [0,1,2,3].map((s) => ({ index: s, plannedRps: 500, achievedRps: 500, durationS: n/4, warmupS: 5, planned: 1, sent: 1, completed: 1, errors: 0, errorRate: 0, errorsByClass: { status: {}, timeout: 0, refused: 0, reset: 0, other: 0 }, p50Ms: 1, p90Ms: 1, p99Ms: 1, maxMs: 1, generatorLimited: false, verdict: 'pass', thresholds: [] }))
const summary = { runId: 'r', status: 'passed', scenario: 's', target: 'http://x', verdict: 'pass', capacityRps: 500, reasons: [], warnings: [], startedAt: new Date(start).toISOString(), finishedAt: new Date(start + n * 1000).toISOString(), steps,
  faults: [{ id: 'f1', type: 'delay', mechanism: 'proxy', targets: ['t'], plannedApplyAt: new Date(start + (n/2)*1000).toISOString(), appliedAt: new Date(start + (n/2)*1000).toISOString(), plannedRevertAt: new Date(start + (n/2+60)*1000).toISOString(), revertedAt: new Date(start + (n/2+60)*1000).toISOString(), revertVerified: true, notes: [] }] }
const t1 = Date.now()
const report = buildRunReport({ runId: 'r', summary, windows, targetSeries: {} })
const t2 = Date.now()
const html = renderHtmlReport(report, loadReportAssets())
const t3 = Date.now()
console.log(JSON.stringify({ n, makeMs: t1 - t0, buildMs: t2 - t1, renderMs: t3 - t2, htmlKB: Math.round(html.length / 1024), suspects: report.rootCause?.suspects.map((s) => s.subject), headline: report.rootCause?.headline }))
