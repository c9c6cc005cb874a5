import type { WindowReport } from '@gauntlet/contracts'
import type { AgentWindowsReport, RunStore } from './run-store.js'

interface Pending {
  report: AgentWindowsReport
  done: (error?: Error) => void
}

/**
 * Durable acknowledgement without an fsync per report: reports arriving in the same turn of the event
 * loop are written in one transaction, and each is acknowledged once that transaction has committed.
 * With 200 agents that is a handful of commits a second instead of 200.
 */
export class AgentWindowCommits {
  private queue: Pending[] = []

  constructor(private readonly store: Pick<RunStore, 'saveAgentWindows' | 'agentWindow'>) {}

  /** The window `agent` delivered for `index`, committed or still waiting for its transaction. */
  delivered(runId: string, agent: string, index: number): WindowReport | undefined {
    for (const { report } of this.queue) {
      if (report.runId !== runId || report.agent !== agent) continue
      const window = report.windows.find((w) => w.index === index)
      if (window) return window
    }
    return this.store.agentWindow(runId, agent, index)
  }

  save(report: AgentWindowsReport): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush())
      this.queue.push({ report, done: (error) => (error ? reject(error) : resolve()) })
    })
  }

  private flush(): void {
    const batch = this.queue
    this.queue = []
    try {
      this.store.saveAgentWindows(batch.map((p) => p.report))
      for (const pending of batch) pending.done()
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      for (const pending of batch) pending.done(failure)
    }
  }
}
