// A run's ChartData, the one builder for the HTML report (apps/controller/src/report/run-report.ts) and the
// dashboard's run page, from windows that carry their percentiles (`latencyMs`, as GET /api/runs/:id/windows
// and the event stream send them, and as the report computes them): no histogram is decoded here.
// Pure, with type-only imports: the same file loads in Node and in the browser.
import type {
  ChartData,
  Decision,
  DecisionMark,
  ErrorClass,
  ErrorCounts,
  FaultRecord,
  FaultSpan,
  ObservedStep,
  SecondSeries,
  StepSpan,
  WindowReport,
} from '@gauntlet/contracts'

/** Percentiles the controller computed from a window's merged histogram (null: no successful response). */
export interface LatencyMs {
  count: number
  p50Ms: number | null
  p90Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
  maxMs: number | null
}

/** A window as the API sends it; `latencyMs` may be absent from an older controller's events. */
export type RunWindow = WindowReport & { latencyMs?: LatencyMs }

/** Same order as @gauntlet/contracts' errorClasses (a value, so not importable into the browser). */
export const errorClasses: readonly ErrorClass[] = [
  'timeout',
  'refused',
  'reset',
  'tls',
  'check',
  'other',
  '4xx',
  '5xx',
  '3xx',
]

/** What the charts are drawn from: the run's windows and what is known of its steps, faults and decisions. */
export interface ChartInput {
  /** Any order, repeats allowed: the latest copy of each index wins. */
  windows: Iterable<RunWindow>
  /** Observed steps: the summary's once the run ended, else the `step` events so far. */
  steps: readonly ObservedStep[]
  decisions: readonly Decision[]
  faults: readonly FaultRecord[]
  rollback?: { step: number; reason: string; at: string } | undefined
  /** ISO start of the run: second 0 when there is no window yet. */
  startedAt: string
  targetSeries?: Readonly<Record<string, ReadonlyArray<{ atS: number; value: number }>>>
}

/** The windows by index, ascending, one per index (the last one given wins). */
export function uniqueWindows(windows: Iterable<RunWindow>): RunWindow[] {
  const byIndex = new Map<number, RunWindow>()
  for (const w of windows) byIndex.set(w.index, w)
  return [...byIndex.values()].sort((a, b) => a.index - b.index)
}

export function buildChartData(input: ChartInput): ChartData {
  const windows = uniqueWindows(input.windows)
  const startMs = runStartMs(input.startedAt, windows)
  return {
    seconds: secondSeries(windows),
    steps: stepSpans(input.steps, windows),
    faults: input.faults.map((f) => faultSpan(f, startMs)),
    marks: decisionMarks(input.decisions, input.rollback, startMs),
    targetMetrics: Object.entries(input.targetSeries ?? {}).map(([name, points]) => ({
      name,
      points: points.map((p): [number, number] => [p.atS, p.value]),
    })),
  }
}

/** Epoch ms of run second 0: from the windows (each knows its start), else the run's start. */
export function runStartMs(startedAt: string, windows: readonly RunWindow[]): number {
  const first = windows[0]
  return first ? first.startedAt - first.index * 1000 : Date.parse(startedAt)
}

function statusClass(status: string): ErrorClass {
  const family = status[0]
  return family === '5' ? '5xx' : family === '4' ? '4xx' : family === '3' ? '3xx' : 'other'
}

export function errorsByClass(errors: ErrorCounts): Record<ErrorClass, number> {
  const out = Object.fromEntries(errorClasses.map((c) => [c, 0])) as Record<ErrorClass, number>
  out.timeout = errors.timeout
  out.refused = errors.refused
  out.reset = errors.reset
  out.tls = errors.tls ?? 0
  out.check = errors.check ?? 0
  out.other = errors.other
  for (const [status, count] of Object.entries(errors.status)) out[statusClass(status)] += count
  return out
}

export function secondSeries(windows: readonly RunWindow[]): SecondSeries {
  const series: SecondSeries = {
    t: [],
    step: [],
    planned: [],
    achieved: [],
    ok: [],
    completed: [],
    p50: [],
    p90: [],
    p99: [],
    max: [],
    errors: Object.fromEntries(errorClasses.map((c) => [c, []])) as unknown as SecondSeries['errors'],
    connections: [],
    generatorLimited: [],
  }
  for (const w of windows) {
    const classes = errorsByClass(w.errors)
    let errors = 0
    for (const c of errorClasses) {
      series.errors[c].push(classes[c])
      errors += classes[c]
    }
    series.t.push(w.index)
    series.step.push(w.step)
    series.planned.push(w.planned)
    series.achieved.push(w.sent)
    series.ok.push(w.ok)
    series.completed.push(w.ok + errors)
    series.p50.push(w.latencyMs?.p50Ms ?? null)
    series.p90.push(w.latencyMs?.p90Ms ?? null)
    series.p99.push(w.latencyMs?.p99Ms ?? null)
    series.max.push(w.latencyMs?.maxMs ?? null)
    series.connections.push(w.openConnections)
    series.generatorLimited.push(w.generatorLimited ? 1 : 0)
  }
  return series
}

/**
 * Each observed step from its first window to the end of its last (the report's rule), then the step
 * still running, which has windows but no observation yet (no verdict).
 */
function stepSpans(steps: readonly ObservedStep[], windows: readonly RunWindow[]): StepSpan[] {
  const seen = new Map<number, { startS: number; endS: number; planned: number }>()
  for (const w of windows) {
    const span = seen.get(w.step)
    if (span) span.endS = Math.max(span.endS, w.index + 1)
    else seen.set(w.step, { startS: w.index, endS: w.index + 1, planned: w.planned })
  }
  let cursor = 0
  const spans: StepSpan[] = steps.map((step) => {
    const found = seen.get(step.index)
    const span = found ? { startS: found.startS, endS: found.endS } : { startS: cursor, endS: cursor + step.durationS }
    cursor = span.endS
    return { index: step.index, plannedRps: step.plannedRps, ...span, verdict: step.verdict }
  })
  const observed = new Set(steps.map((s) => s.index))
  for (const [index, span] of [...seen].sort((a, b) => a[0] - b[0])) {
    if (observed.has(index)) continue
    spans.push({ index, plannedRps: span.planned, startS: span.startS, endS: span.endS, verdict: null })
  }
  return spans
}

const secondsAfter = (startMs: number, iso: string | null): number | null =>
  iso === null ? null : Math.round((Date.parse(iso) - startMs) / 100) / 10

function faultSpan(f: FaultRecord, startMs: number): FaultSpan {
  return {
    id: f.id,
    type: f.type,
    mechanism: f.mechanism,
    ...(f.injector ? { injector: f.injector } : {}),
    ...(f.agent ? { agent: f.agent } : {}),
    startS: secondsAfter(startMs, f.appliedAt),
    endS: secondsAfter(startMs, f.revertedAt),
    plannedStartS: secondsAfter(startMs, f.plannedApplyAt)!,
    plannedEndS: secondsAfter(startMs, f.plannedRevertAt)!,
    ...(f.error ? { error: f.error } : {}),
  }
}

/** The decisions drawn as lines: gates (once per gate, not per guard), trips, clears, dry runs, stops, the rollback. */
function decisionMarks(
  decisions: readonly Decision[],
  rollback: ChartInput['rollback'],
  startMs: number,
): DecisionMark[] {
  const marks: DecisionMark[] = []
  const add = (mark: DecisionMark): void => {
    if (!marks.some((m) => m.atS === mark.atS && m.kind === mark.kind && m.step === mark.step)) marks.push(mark)
  }
  for (const d of decisions) {
    const kind = markKind(d)
    if (!kind) continue
    const label =
      d.source === 'gate'
        ? `${kind}: ${d.reason ?? ''}`
        : d.source === 'threshold'
          ? kind === 'advance'
            ? 'advance: thresholds met'
            : `stop: "${d.guard}" failed`
          : `${kind}: ${d.guard} ${d.reason ?? ''}`
    add({ atS: d.evidence.windowEnd, step: d.step, kind, label: label.trim() })
  }
  if (rollback) {
    const atS = secondsAfter(startMs, rollback.at)!
    add({ atS, step: rollback.step, kind: 'rollback', label: `rollback: ${rollback.reason}` })
  }
  return marks.sort((a, b) => a.atS - b.atS)
}

export function markKind(d: Decision): DecisionMark['kind'] | undefined {
  if (d.source === 'gate' && !d.dryRun) return d.action === 'continue' ? undefined : d.action
  if (d.reason?.startsWith('would have rolled back')) return 'dry-run'
  if (d.reason?.startsWith('cleared')) return 'clear'
  if (d.source === 'window' && d.action === 'rollback') return 'trip'
  if (d.source === 'leak' && d.action === 'rollback') return 'rollback'
  if (d.source === 'threshold' && (d.action === 'stop' || d.action === 'advance')) return d.action
  return undefined
}

/** A decision worth a line in the log (the report's rule): one that did something or says why. */
export function isNotableDecision(d: Decision): boolean {
  return d.source !== 'window' || d.action !== 'continue' || d.reason !== undefined
}
