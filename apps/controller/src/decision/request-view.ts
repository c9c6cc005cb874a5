import { createLatencyHistogram, encodeHistogram } from '@gauntlet/metrics'
import type { WindowReport } from '@gauntlet/contracts'

/** An empty histogram, encoded once: a request no send of a window made. */
const emptyLatency = encodeHistogram(createLatencyHistogram())

/**
 * One request of a mix seen as a window of its own, so that thresholds, guards and summaries measure
 * it with the same code as the whole window. What is not counted per request is the window's: planned
 * and sent are its dispatched sends (a planned send gets its request when it leaves), and the
 * generator's own limits (late sends, drops) are the window's, as they hold back every request alike.
 */
export function requestWindow(window: WindowReport, name: string): WindowReport {
  // Own properties only: a request may be named "constructor".
  const counts = window.requests && Object.hasOwn(window.requests, name) ? window.requests[name] : undefined
  const rest = { ...window }
  delete rest.requests
  if (!counts)
    return {
      ...rest,
      planned: 0,
      sent: 0,
      dispatched: 0,
      ok: 0,
      errors: { status: {}, timeout: 0, refused: 0, reset: 0, tls: 0, check: 0, other: 0 },
      latency: emptyLatency,
    }
  return {
    ...rest,
    planned: counts.dispatched,
    sent: counts.dispatched,
    dispatched: counts.dispatched,
    ok: counts.ok,
    errors: counts.errors,
    latency: counts.latency,
  }
}

/** The windows of one request (`name`), or the windows as they are (no name: the whole mix). */
export function windowsOf(windows: readonly WindowReport[], name: string | undefined): readonly WindowReport[] {
  return name === undefined ? windows : windows.map((w) => requestWindow(w, name))
}
