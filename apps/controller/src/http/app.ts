import type { FaultEngine, TargetAllowList } from '@gauntlet/agent'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance } from 'fastify'
import type { AgentRegistry } from '../agents/agent-registry.js'
import type { RunManager } from '../run/run-manager.js'
import { maxScenarioBytes } from '../scenario/load-scenario.js'
import type { Scheduler } from '../schedule/scheduler.js'
import type { RunStore, ScenarioStore, ScheduleStore } from '../storage/run-store.js'
import { requireToken } from './auth.js'
import { errorHandler, sendProblem } from '@gauntlet/http'
import { agentsRoutes } from './agents-routes.js'
import { faultsRoutes } from './faults-routes.js'
import { opsRoutes } from './ops-routes.js'
import { runsRoutes } from './runs-routes.js'
import { scenariosRoutes } from './scenarios-routes.js'
import { schedulesRoutes } from './schedules-routes.js'
import { GauntletError } from '@gauntlet/contracts'

export interface AppDeps {
  store: RunStore & ScenarioStore & ScheduleStore
  runs: RunManager
  scheduler: Scheduler
  /** GAUNTLET_TOKEN: when set, mutating endpoints require it as a bearer token. */
  token?: string
  /** GAUNTLET_TARGET_ALLOW: hosts runs may load (refused with 403 before a run is created). */
  targetAllow: TargetAllowList
  agents: AgentRegistry
  /** GAUNTLET_AGENT_SECRET: when set, agents' calls must carry it (and the controller's calls to agents do). */
  agentSecret?: string
  /** Ad hoc faults (/api/faults); absent, those routes do not exist. */
  faults?: FaultEngine
  logger?: boolean
}

/** The controller's HTTP API. Routes call services only; wiring happens in the controller command. */
export function buildApp(deps: AppDeps): FastifyInstance {
  // A scenario is at most 1 MiB of YAML; JSON escaping can grow it, hence the margin.
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: 2 * maxScenarioBytes,
    // Unknown keys are errors here as in scenarios, not silently dropped (fastify's default).
    ajv: { customOptions: { removeAdditional: false, keywords: ['errorMessage'] } },
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new GauntletError('not_found', `no route ${request.method} ${request.url}`)))
  app.addHook('onRequest', requireToken(deps.token))
  // OpenAPI from the routes' own TypeBox schemas: /docs/json, and a browsable page at /docs.
  app.register(swagger, {
    openapi: {
      info: { title: 'Gauntlet controller', version: '0.1.0', description: 'Runs, scenarios and schedules. Errors are application/problem+json.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'GAUNTLET_TOKEN, for mutating endpoints' } } },
    },
  })
  app.register(swaggerUi, { routePrefix: '/docs' })
  app.register(runsRoutes, deps)
  app.register(scenariosRoutes, deps)
  app.register(schedulesRoutes, deps)
  app.register(agentsRoutes, deps)
  if (deps.faults) app.register(faultsRoutes, { faults: deps.faults })
  app.register(opsRoutes, deps)
  return app
}
