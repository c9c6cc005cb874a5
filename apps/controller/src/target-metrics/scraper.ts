import { egressRequest, type AllowList } from '@gauntlet/http'
import type { SeriesPoint } from '../decision/leak.js'
import { parsePrometheusText } from './prometheus-text.js'

const scrapeTimeoutMs = 800
const preLoadScrapes = 3
const preLoadGapMs = 200
/** A metrics page larger than this is refused, not parsed in part. */
const maxScrapeBytes = 4 * 1024 * 1024

/**
 * Scrapes the target's Prometheus endpoint: a few times before the load (its pre-load level), every
 * second of the run, and through the cooldown after it. A failed scrape is counted, never fatal: the
 * load goes on whether the target's metrics answer or not.
 */
export class TargetMetricsScraper {
  private readonly points = new Map<string, SeriesPoint[]>()
  private timer: NodeJS.Timeout | undefined
  private epochMs: number | undefined
  private inFlight: Promise<void> = Promise.resolve()
  failed = 0
  lastError: string | undefined

  constructor(
    private readonly url: string,
    private readonly series: readonly string[],
    private readonly fetchText: (url: string, signal: AbortSignal) => Promise<string>,
  ) {
    for (const name of series) this.points.set(name, [])
  }

  /** Before the load: its pre-load level (points at negative seconds). */
  async preLoad(): Promise<void> {
    for (let i = 0; i < preLoadScrapes; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, preLoadGapMs))
      await this.scrape(-(preLoadScrapes - i) * (preLoadGapMs / 1000))
    }
  }

  /** Second 0 of the run: one scrape a second from now on, timed from it. */
  start(epochMs: number): void {
    this.epochMs = epochMs
    const tick = (): void => {
      this.inFlight = this.scrape((Date.now() - epochMs) / 1000)
      this.timer = setTimeout(tick, 1000 - ((Date.now() - epochMs) % 1000))
    }
    tick()
  }

  /**
   * The load ended: keep scraping through the cooldown, then stop. Bounded by `cooldownS`, and cut
   * short when `signal` aborts (a stopped run is stored without waiting out a long cooldown).
   */
  async cooldown(cooldownS: number, signal?: AbortSignal): Promise<void> {
    const until = Date.now() + cooldownS * 1000
    if (this.epochMs === undefined) return
    await new Promise<void>((resolve) => {
      const wait = (): void => {
        if (Date.now() >= until || signal?.aborted) return resolve()
        setTimeout(wait, Math.min(250, until - Date.now()))
      }
      wait()
    })
    this.stop()
    await this.inFlight
    // One last scrape at the end of the cooldown, so the end level is measured after it.
    await this.scrape((Date.now() - this.epochMs) / 1000)
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Scrapes so far, per series, in time order. */
  get seriesPoints(): ReadonlyMap<string, readonly SeriesPoint[]> {
    return this.points
  }

  private async scrape(atS: number): Promise<void> {
    try {
      const text = await this.fetchText(this.url, AbortSignal.timeout(scrapeTimeoutMs))
      const values = parsePrometheusText(text, this.series)
      for (const [name, value] of values) this.points.get(name)!.push({ atS: Math.round(atS * 1000) / 1000, value })
      const missing = this.series.filter((name) => !values.has(name))
      if (missing.length > 0) {
        this.failed++
        this.lastError = `no sample for ${missing.join(', ')}`
      }
    } catch (error) {
      this.failed++
      this.lastError = (error as Error).message
    }
  }
}

/**
 * GETs the metrics page through the egress allow-list (checked on the resolved address). A redirect is
 * not followed: it is a failed scrape, and nothing from where it points is read.
 */
export function scrapeThrough(allow: AllowList): (url: string, signal: AbortSignal) => Promise<string> {
  return async (url, signal) => {
    const response = await egressRequest(url, {
      allow,
      headers: { accept: 'text/plain' },
      timeoutMs: scrapeTimeoutMs,
      signal,
      maxResponseBytes: maxScrapeBytes,
    })
    if (response.status < 200 || response.status >= 300) throw new Error(`status ${response.status}`)
    if (response.truncated) throw new Error(`metrics page larger than ${maxScrapeBytes} bytes`)
    return response.body
  }
}
