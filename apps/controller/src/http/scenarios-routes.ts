import { GauntletError } from '@gauntlet/contracts'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { parseScenario } from '../scenario/load-scenario.js'
import type { ScenarioStore } from '../storage/run-store.js'

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$' }) })
const PutBody = Type.Object({ yaml: Type.String({ minLength: 1 }) }, { additionalProperties: false })

/** /api/scenarios: named scenarios, validated on the way in with the loader `gauntlet validate` uses. */
export async function scenariosRoutes(app: FastifyInstance, { store }: { store: ScenarioStore }): Promise<void> {
  app.get('/api/scenarios', async () => store.listScenarios().map(({ name, updatedAt }) => ({ name, updatedAt })))

  app.get<{ Params: Static<typeof NameParams> }>('/api/scenarios/:name', { schema: { params: NameParams } }, async (request) => {
    const scenario = store.getScenario(request.params.name)
    if (!scenario) throw new GauntletError('not_found', `no scenario named "${request.params.name}"`)
    return scenario
  })

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PutBody> }>(
    '/api/scenarios/:name',
    { schema: { params: NameParams, body: PutBody } },
    async (request, reply) => {
      const { name } = request.params
      const scenario = parseScenario(request.body.yaml, `scenario ${name}`)
      if (scenario.name !== name) throw new GauntletError('usage', `the scenario is named "${scenario.name}" but was sent to /api/scenarios/${name}`)
      const existed = store.getScenario(name) !== undefined
      const stored = { name, yaml: request.body.yaml, updatedAt: new Date().toISOString() }
      store.putScenario(stored)
      return reply.code(existed ? 200 : 201).send(stored)
    },
  )

  app.delete<{ Params: Static<typeof NameParams> }>('/api/scenarios/:name', { schema: { params: NameParams } }, async (request, reply) => {
    if (!store.deleteScenario(request.params.name)) throw new GauntletError('not_found', `no scenario named "${request.params.name}"`)
    return reply.code(204).send()
  })
}
