import { concurrencyPolicies, type Schedule } from '@gauntlet/contracts'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Scheduler } from '../schedule/scheduler.js'
import type { ScheduleStore } from '../storage/run-store.js'

const CreateBody = Type.Object(
  {
    scenario: Type.String({ minLength: 1, maxLength: 200 }),
    cron: Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Five fields (minute precision) or six (seconds first); its fires at least --min-schedule-interval apart (default 60 s).',
    }),
    timezone: Type.Optional(
      Type.String({ maxLength: 100, default: 'UTC', description: 'IANA time zone, e.g. Europe/Berlin.' }),
    ),
    concurrency: Type.Optional(
      Type.Union(
        concurrencyPolicies.map((p) => Type.Literal(p)),
        { default: 'forbid' },
      ),
    ),
    startingDeadline: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, default: 300, description: 'Seconds.' }),
    ),
  },
  { additionalProperties: false },
)
const PatchBody = Type.Object({ paused: Type.Boolean() }, { additionalProperties: false })
const IdParams = Type.Object({ id: Type.String() })

/** /api/schedules: cron-fired runs of stored scenarios. */
export async function schedulesRoutes(
  app: FastifyInstance,
  { scheduler, store }: { scheduler: Scheduler; store: ScheduleStore },
): Promise<void> {
  const view = (schedule: Schedule) => ({ ...schedule, nextFireTimes: scheduler.nextFireTimes(schedule, 3) })

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/schedules',
    { schema: { body: CreateBody } },
    async (request, reply) => {
      const body = request.body
      const schedule = scheduler.create({
        scenario: body.scenario,
        cron: body.cron,
        timezone: body.timezone ?? 'UTC',
        concurrency: body.concurrency ?? 'forbid',
        startingDeadlineS: body.startingDeadline ?? 300,
      })
      return reply.code(201).header('location', `/api/schedules/${schedule.id}`).send(view(schedule))
    },
  )

  app.get('/api/schedules', async () => store.listSchedules().map(view))

  app.get<{ Params: Static<typeof IdParams> }>('/api/schedules/:id', async (request) =>
    view(scheduler.get(request.params.id)),
  )

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    '/api/schedules/:id',
    { schema: { body: PatchBody } },
    async (request) => view(scheduler.setPaused(request.params.id, request.body.paused)),
  )

  app.delete<{ Params: Static<typeof IdParams> }>('/api/schedules/:id', async (request, reply) => {
    scheduler.delete(request.params.id)
    return reply.code(204).send()
  })

  app.get<{ Params: Static<typeof IdParams> }>('/api/schedules/:id/history', async (request) => {
    scheduler.get(request.params.id)
    return store.scheduleHistory(request.params.id, 200)
  })
}
