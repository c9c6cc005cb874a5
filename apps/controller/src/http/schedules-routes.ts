import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@gauntlet/contracts/typebox'
import { concurrencyPolicies } from '@gauntlet/contracts'
import type { ScheduleQueries } from '../schedule/schedule-queries.js'
import type { Scheduler } from '../schedule/scheduler.js'
import { IdParams, NoContent, problemResponses, ScheduleFireSchema, ScheduleViewSchema } from './api-schemas.js'

const CreateBody = Type.Object(
  {
    scenario: Type.String({ minLength: 1, maxLength: 200 }),
    cron: Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Five fields (minute precision) or six (seconds first); its fires at least --min-schedule-interval ' +
        'apart (default 60 s).',
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
/** /api/schedules: cron-fired runs of stored scenarios. */
export const schedulesRoutes: FastifyPluginCallbackTypebox<{ scheduler: Scheduler; queries: ScheduleQueries }> = (
  app,
  { scheduler, queries },
  done,
) => {
  const tags = ['schedules']

  app.post(
    '/api/schedules',
    {
      schema: {
        tags,
        summary: 'Create a schedule',
        body: CreateBody,
        response: { 201: ScheduleViewSchema, ...problemResponses },
      },
    },
    (request, reply) => {
      const body = request.body
      const schedule = scheduler.create({
        scenario: body.scenario,
        cron: body.cron,
        timezone: body.timezone ?? 'UTC',
        concurrency: body.concurrency ?? 'forbid',
        startingDeadlineS: body.startingDeadline ?? 300,
      })
      reply.code(201).header('location', `/api/schedules/${schedule.id}`).send(queries.view(schedule))
    },
  )

  app.get(
    '/api/schedules',
    {
      schema: {
        tags,
        summary: 'Every schedule',
        response: { 200: Type.Array(ScheduleViewSchema), ...problemResponses },
      },
    },
    () => queries.list(),
  )

  app.get(
    '/api/schedules/:id',
    {
      schema: {
        tags,
        summary: 'One schedule, with its next fire times',
        params: IdParams,
        response: { 200: ScheduleViewSchema, ...problemResponses },
      },
    },
    (request) => queries.get(request.params.id),
  )

  app.patch(
    '/api/schedules/:id',
    {
      schema: {
        tags,
        summary: 'Pause or resume a schedule',
        params: IdParams,
        body: PatchBody,
        response: { 200: ScheduleViewSchema, ...problemResponses },
      },
    },
    (request) => queries.view(scheduler.setPaused(request.params.id, request.body.paused)),
  )

  app.delete(
    '/api/schedules/:id',
    {
      schema: {
        tags,
        summary: 'Delete a schedule',
        params: IdParams,
        response: { 204: NoContent, ...problemResponses },
      },
    },
    (request, reply) => {
      scheduler.delete(request.params.id)
      reply.code(204).send(null)
    },
  )

  app.get(
    '/api/schedules/:id/history',
    {
      schema: {
        tags,
        summary: 'What became of its last 200 fire times',
        params: IdParams,
        response: { 200: Type.Array(ScheduleFireSchema), ...problemResponses },
      },
    },
    (request) => queries.history(request.params.id),
  )
  done()
}
