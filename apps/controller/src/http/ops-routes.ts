import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import type { AgentRegistry } from '../agents/agent-registry.js'
import type { ControllerSettings } from '../config/controller-settings.js'
import type { RunManager } from '../run/run-manager.js'
import type { RunQueries } from '../run/run-queries.js'
import { runStatuses } from '@gauntlet/contracts'
import { HealthSchema, problemResponses, textResponse } from './api-schemas.js'
import type { ReportGate } from './report-gate.js'
import type { StreamSlots } from './stream-slots.js'

export interface OpsRoutesDeps {
  queries: RunQueries
  runs: RunManager
  agents: AgentRegistry
  streams: StreamSlots
  settings: Pick<ControllerSettings, 'limits'>
  reportGate: ReportGate
}

/** /healthz and /metrics (Prometheus text format). */
export const opsRoutes: FastifyPluginCallbackTypebox<OpsRoutesDeps> = (app, deps, done) => {
  const { queries, runs, agents, streams, settings, reportGate } = deps
  const tags = ['operations']
  app.get(
    '/healthz',
    { schema: { tags, summary: 'Liveness', response: { 200: HealthSchema, ...problemResponses } } },
    () => ({ status: 'ok' as const }),
  )

  const metricsText = textResponse('text/plain', 'Prometheus text format (version 0.0.4).')
  app.get(
    '/metrics',
    { schema: { tags, summary: 'Prometheus metrics', response: { 200: metricsText, ...problemResponses } } },
    (_request, reply) => {
      const counts = queries.countByStatus()
      const known = agents.list()
      const reports = reportGate.load
      const lines = [
        '# HELP gauntlet_runs Runs stored, by status.',
        '# TYPE gauntlet_runs gauge',
        ...runStatuses.map((status) => `gauntlet_runs{status="${status}"} ${counts[status] ?? 0}`),
        '# HELP gauntlet_runs_active Runs in progress in this controller.',
        '# TYPE gauntlet_runs_active gauge',
        `gauntlet_runs_active ${runs.activeCount}`,
        '# HELP gauntlet_windows_ingested_total Per-second windows received since the controller started.',
        '# TYPE gauntlet_windows_ingested_total counter',
        `gauntlet_windows_ingested_total ${runs.windowsIngested}`,
        '# HELP gauntlet_agent_windows_received_total Per-second windows reported by remote agents since the ' +
          'controller started.',
        '# TYPE gauntlet_agent_windows_received_total counter',
        `gauntlet_agent_windows_received_total ${agents.windowsReceived}`,
        '# HELP gauntlet_agents Remote agents known to the controller, by state.',
        '# TYPE gauntlet_agents gauge',
        ...(['ready', 'busy', 'lost'] as const).map(
          (state) => `gauntlet_agents{state="${state}"} ${known.filter((a) => a.state === state).length}`,
        ),
        '# HELP gauntlet_event_streams_open Event streams (GET /api/runs/:id/events) open now.',
        '# TYPE gauntlet_event_streams_open gauge',
        `gauntlet_event_streams_open ${streams.open}`,
        "# HELP gauntlet_agent_reports Agents' reports let in and not yet answered, and waiting to be let in.",
        '# TYPE gauntlet_agent_reports gauge',
        `gauntlet_agent_reports{state="in_progress"} ${reports.active}`,
        `gauntlet_agent_reports{state="waiting"} ${reports.waiting}`,
        "# HELP gauntlet_agent_report_bytes Bytes the agents' reports in progress declared.",
        '# TYPE gauntlet_agent_report_bytes gauge',
        `gauntlet_agent_report_bytes ${reports.bytes}`,
        '# HELP gauntlet_limit The caps this controller runs with (flags --max-runs, --max-streams, ...).',
        '# TYPE gauntlet_limit gauge',
        ...capGauges(settings.limits),
        '',
      ]
      reply.type('text/plain; version=0.0.4').send(lines.join('\n'))
    },
  )
  done()
}

/** The count-like caps, one labelled sample each (durations in seconds). */
function capGauges(limits: ControllerSettings['limits']): string[] {
  const caps: Record<string, number> = {
    max_runs: limits.maxRuns,
    max_run_rps: limits.maxRunRps,
    max_run_duration_seconds: limits.maxRunDurationS,
    max_schedules: limits.maxSchedules,
    min_schedule_interval_seconds: limits.minScheduleIntervalS,
    max_agents: limits.maxAgents,
    max_streams: limits.maxStreams,
  }
  return Object.entries(caps).map(([name, value]) => `gauntlet_limit{name="${name}"} ${value}`)
}
