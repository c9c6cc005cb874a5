import type { RunReport } from '@gauntlet/contracts'
import { parseAllowList } from '@gauntlet/http'
import { InProcessAgent } from '../../apps/controller/src/agents/in-process-agent.js'
import { tcpTargetProbe } from '../../apps/controller/src/agents/tcp-target-probe.js'
import { storedReportInput, type ReportStore } from '../../apps/controller/src/report/report-source.js'
import { buildRunReport } from '../../apps/controller/src/report/run-report.js'
import type { RunDependencies } from '../../apps/controller/src/run/run-service.js'
import type { RunStore } from '../../apps/controller/src/storage/run-store.js'

/** What an embedded run needs, as `gauntlet run` wires it: the in-process agent, loopback targets, the wall clock. */
export function embeddedRunDeps(store: RunStore, extra: Partial<RunDependencies> = {}): RunDependencies {
  return {
    store,
    agent: new InProcessAgent(),
    probe: tcpTargetProbe(parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW')),
    clock: { now: () => new Date() },
    ...extra,
  }
}

/** A finished run's report from what the store kept, as `gauntlet report` makes it. */
export function storedRunReport(store: ReportStore, runId: string): RunReport {
  return buildRunReport(storedReportInput(store, runId).input)
}
