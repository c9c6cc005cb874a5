import type { Decision, TargetSeriesSummary } from '@gauntlet/contracts'
import { decisionRecord } from '../decision/decision-record.js'
import type { LeakGuardConfig } from '../decision/guard-config.js'
import { judgeShape, seriesShape } from '../decision/leak.js'
import type { Scenario } from '../scenario/scenario.js'
import type { AllowList } from '@gauntlet/http'
import { scrapeThrough, TargetMetricsScraper } from '../target-metrics/scraper.js'

export interface TargetMetricsOutcome {
  summaries: TargetSeriesSummary[]
  decisions: Decision[]
  /** An acting leak guard failed: the run fails and rolls back. */
  failed?: { guard: string; reason: string }
  /** An acting leak guard could not judge: the run cannot pass. */
  unjudged: string[]
  warnings: string[]
}

/** The target's own series through one run, and the leak guards judged on them once the load is over. */
export class RunTargetMetrics {
  private readonly scraper: TargetMetricsScraper
  private epochMs: number | undefined

  constructor(
    private readonly config: NonNullable<Scenario['targetMetrics']>,
    private readonly leaks: readonly LeakGuardConfig[],
    private readonly now: () => Date,
    /** GAUNTLET_TARGET_ALLOW: scrapes are checked on the resolved address, like the target. */
    allow: AllowList,
  ) {
    this.scraper = new TargetMetricsScraper(config.url, config.series, scrapeThrough(allow))
  }

  preLoad(): Promise<void> {
    return this.scraper.preLoad()
  }

  start(epochMs: number): void {
    this.epochMs = epochMs
    this.scraper.start(epochMs)
  }

  /**
   * The load has ended (and faults are reverted): scrape through the cooldown (cut short once `stopped` aborts), then
   * judge.
   */
  async finish(lastStep: number, stopped?: AbortSignal): Promise<TargetMetricsOutcome> {
    const loadEndS = this.epochMs === undefined ? 0 : (Date.now() - this.epochMs) / 1000
    if (this.epochMs === undefined) this.scraper.stop()
    else await this.scraper.cooldown(this.config.cooldownS, stopped)
    const points = this.scraper.seriesPoints
    // One shape per series: the summary shows it, and every leak guard on that series judges it.
    const shapes = new Map(
      this.config.series.map((series) => [series, seriesShape(points.get(series) ?? [], loadEndS)]),
    )
    const summaries: TargetSeriesSummary[] = this.config.series.map((series) => {
      const shape = { ...shapes.get(series)! }
      delete shape.missing // why a leak cannot be judged belongs to the leak guards' decisions
      return { series, scrapes: points.get(series)?.length ?? 0, ...shape }
    })
    const outcome: TargetMetricsOutcome = { summaries, decisions: [], unjudged: [], warnings: [] }
    if (this.scraper.failed > 0)
      outcome.warnings.push(
        `${this.scraper.failed} scrape(s) of ${this.config.url} failed (last: ${this.scraper.lastError})`,
      )
    for (const leak of this.leaks) {
      const series = points.get(leak.require.series) ?? []
      const judged = judgeShape(shapes.get(leak.require.series)!, leak.require.limit, leak.require.operator)
      const tripped = judged.verdict === 'fail'
      const reason = `${leak.require.series} ${judged.reason}`
      outcome.decisions.push(
        decisionRecord({
          at: this.now(),
          step: lastStep,
          source: 'leak',
          guard: leak.name,
          condition: leak.require.source,
          verdict: judged.verdict,
          action: tripped && !leak.dryRun ? 'rollback' : 'continue',
          dryRun: leak.dryRun,
          reason: leak.dryRun && tripped ? `would have rolled back: ${reason}` : reason,
          evidence: {
            n: series.length,
            estimate: judged.endGrowth,
            lower: judged.endGrowth,
            upper: judged.endGrowth,
            limit: leak.require.limit,
            confidence: judged.verdict,
          },
          span: { startS: Math.floor(series[0]?.atS ?? 0), endS: Math.ceil(series.at(-1)?.atS ?? 0) },
        }),
      )
      if (leak.dryRun) continue
      if (tripped) outcome.failed ??= { guard: leak.name, reason: `leak guard ${leak.name}: ${reason}` }
      if (judged.verdict === 'insufficient')
        outcome.unjudged.push(`leak guard ${leak.name} could not judge ${leak.require.series}: ${judged.reason}`)
    }
    return outcome
  }

  stop(): void {
    this.scraper.stop()
  }

  get seriesPoints() {
    return this.scraper.seriesPoints
  }
}
