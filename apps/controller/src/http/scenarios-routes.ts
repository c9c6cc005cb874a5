import { GauntletError } from '@gauntlet/contracts'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ControllerSettings } from '../config/controller-settings.js'
import { assertScenarioEgressLocated } from '../scenario/egress-check.js'
import { yamlPool } from '../scenario/yaml-pool.js'
import type { ScenarioStore } from '../storage/run-store.js'

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$' }) })
const PutBody = Type.Object({ yaml: Type.String({ minLength: 1 }) }, { additionalProperties: false })

/** /api/scenarios: named scenarios, validated on the way in with the loader `gauntlet validate` uses. */
export async function scenariosRoutes(
  app: FastifyInstance,
  { store, settings }: { store: ScenarioStore; settings: Pick<ControllerSettings, 'targetAllow' | 'hookAllow'> },
): Promise<void> {
  app.get('/api/scenarios', async () => store.listScenarios().map(({ name, updatedAt }) => ({ name, updatedAt })))

  app.get<{ Params: Static<typeof NameParams> }>(
    '/api/scenarios/:name',
    { schema: { params: NameParams } },
    async (request) => {
      const scenario = store.getScenario(request.params.name)
      if (!scenario) throw new GauntletError('not_found', `no scenario named "${request.params.name}"`)
      // Stored as sent (runs need the credentials), shown without them.
      return { ...scenario, yaml: await yamlPool().redact(scenario.yaml) }
    },
  )

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PutBody> }>(
    '/api/scenarios/:name',
    { schema: { params: NameParams, body: PutBody } },
    async (request, reply) => {
      const { name } = request.params
      const file = `scenario ${name}`
      // Parsed, located and redacted on the YAML threads: a heavy document never stalls the event loop.
      const scenario = await yamlPool().parse(request.body.yaml, file)
      // Its hooks and target-metrics URL must be callable, or it could never run: refused before it is stored.
      await assertScenarioEgressLocated(scenario, settings, { yaml: request.body.yaml, file }, (yaml, problems) =>
        yamlPool().locate(yaml, problems),
      )
      if (scenario.name !== name)
        throw new GauntletError(
          'usage',
          `the scenario is named "${scenario.name}" but was sent to /api/scenarios/${name}`,
        )
      const existed = store.getScenario(name) !== undefined
      const stored = { name, yaml: request.body.yaml, updatedAt: new Date().toISOString() }
      store.putScenario(stored)
      return reply.code(existed ? 200 : 201).send({ ...stored, yaml: await yamlPool().redact(stored.yaml) })
    },
  )

  app.delete<{ Params: Static<typeof NameParams> }>(
    '/api/scenarios/:name',
    { schema: { params: NameParams } },
    async (request, reply) => {
      if (!store.deleteScenario(request.params.name))
        throw new GauntletError('not_found', `no scenario named "${request.params.name}"`)
      return reply.code(204).send()
    },
  )
}
