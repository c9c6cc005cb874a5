import swagger from '@fastify/swagger'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { AgentRegistry } from '../agents/agent-registry.js'
import type { ControllerSettings } from '../config/controller-settings.js'
import type { RunManager } from '../run/run-manager.js'
import { loadReportAssets } from '../report/report-assets.js'
import { reportLink } from '../report/report-formats.js'
import { storedRootCausePlan } from '../report/root-cause-plan.js'
import { ReportMaker, type RunReports } from '../report/report-maker.js'
import { RunQueries } from '../run/run-queries.js'
import { yamlPool } from '../scenario/yaml-pool.js'
import { maxScenarioBytes } from '../scenario/load-scenario.js'
import { ScenarioService } from '../scenario/scenario-service.js'
import { ScheduleQueries } from '../schedule/schedule-queries.js'
import type { Scheduler } from '../schedule/scheduler.js'
import type { RunStore, ScenarioStore, ScheduleStore } from '../storage/run-store.js'
import { registerAuditLog, requestLogController } from './audit-log.js'
import { requireToken } from './auth.js'
import { acceptEmptyJsonBodies, requireAllowedHost, requireJsonMutations, securityHeaders } from './browser-guards.js'
import { errorHandler, sendProblem, serverTimeouts } from '@gauntlet/http'
import { agentsRoutes } from './agents-routes.js'
import { dashboardRoutes } from './dashboard-routes.js'
import { faultsRoutes, type AdhocFaults } from './faults-routes.js'
import { opsRoutes } from './ops-routes.js'
import { ReportGate } from './report-gate.js'
import { runsRoutes } from './runs-routes.js'
import { scenariosRoutes } from './scenarios-routes.js'
import { schedulesRoutes } from './schedules-routes.js'
import { StreamSlots } from './stream-slots.js'
import { GauntletError } from '@gauntlet/contracts'

export interface AppDeps {
  store: RunStore & ScenarioStore & ScheduleStore
  /** Flags and environment the controller's security depends on (config/controller-settings.ts). */
  settings: ControllerSettings
  runs: RunManager
  scheduler: Scheduler
  agents: AgentRegistry
  /** Ad hoc faults (/api/faults): the faults router, or an engine; absent, those routes do not exist. */
  faults?: AdhocFaults
  /** Who makes reports: the controller's report thread (report-pool.ts); absent, this thread does. */
  reports?: RunReports
  /** fastify's logger: off by default (tests), the controller process passes controllerLoggerOptions (audit-log.ts). */
  logger?: FastifyServerOptions['logger']
}

/**
 * The controller's HTTP API. Routes call services only; wiring happens in the controller command.
 * Every route declares its params, query, body and responses as TypeBox schemas (the type provider
 * types the handlers from them), which is also what makes the OpenAPI document complete.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  // A scenario is at most 1 MiB of YAML; JSON escaping can grow it, hence the margin.
  const app = Fastify({
    logger: deps.logger ?? false,
    logController: requestLogController(),
    bodyLimit: 2 * maxScenarioBytes,
    // Unknown keys are errors here as in scenarios, not silently dropped (fastify's default).
    ajv: { customOptions: { removeAdditional: false, keywords: ['errorMessage'] } },
    ...serverTimeouts,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new GauntletError('not_found', `no route ${request.method} ${request.url}`)),
  )
  app.addHook('onRequest', securityHeaders())
  // In this order: a foreign Host learns nothing (403), then a stranger nothing (401), then 415.
  app.addHook('onRequest', requireAllowedHost(deps.settings.allowedHosts))
  app.addHook('onRequest', requireToken(deps.settings.token, deps.settings.publicRead))
  app.addHook('onRequest', requireJsonMutations())
  acceptEmptyJsonBodies(app)
  registerAuditLog(app)
  // OpenAPI from the routes' own TypeBox schemas: /docs/json, and a browsable page at /docs.
  void app.register(swagger, {
    openapi: {
      info: {
        title: 'Gauntlet controller',
        version: '0.1.0',
        description: 'Runs, scenarios and schedules. Errors are application/problem+json.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'GAUNTLET_TOKEN: every /api route (reads open only with --public-read); agents sign their ' +
              'requests instead',
          },
        },
      },
    },
  })
  void app.register(swaggerUi, { routePrefix: '/docs' })
  const { maxStreams } = deps.settings.limits
  const streams = new StreamSlots(
    maxStreams,
    deps.settings.token && deps.settings.publicRead ? Math.max(1, Math.floor(maxStreams / 2)) : maxStreams,
  )
  const queries = new RunQueries(deps.store)
  const scenarios = new ScenarioService(deps.store, deps.settings)
  const reports = deps.reports ?? inProcessReports(deps)
  void app.register(runsRoutes, { runs: deps.runs, queries, scenarios, streams, reports })
  void app.register(scenariosRoutes, { scenarios })
  void app.register(schedulesRoutes, {
    scheduler: deps.scheduler,
    queries: new ScheduleQueries(deps.scheduler, deps.store),
  })
  const reportGate = new ReportGate()
  void app.register(agentsRoutes, { ...deps, reportGate })
  if (deps.faults) void app.register(faultsRoutes, { faults: deps.faults })
  void app.register(opsRoutes, { ...deps, queries, streams, reportGate })
  const { token, publicRead } = deps.settings
  void app.register(dashboardRoutes, { auth: token ? (publicRead ? 'public-read' : 'token') : 'none' })
  return app
}

/** Reports made on this thread (a store that lives in this process), their YAML work on the YAML threads. */
function inProcessReports(deps: AppDeps): RunReports {
  const { publicUrl } = deps.settings
  return new ReportMaker({
    store: deps.store,
    secrets: (yaml) => yamlPool().secrets(yaml),
    // Parsed off the event loop, as every stored YAML is (a hostile one must not stall the API).
    plan: (yaml) => storedRootCausePlan(yaml, (text) => yamlPool().parse(text, 'stored scenario')),
    assets: loadReportAssets,
    ...(publicUrl ? { reportUrl: (id: string) => reportLink(publicUrl, id) } : {}),
  })
}
