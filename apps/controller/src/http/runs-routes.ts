import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox'
import { GauntletError, runStatuses, type RunVerdict } from '@gauntlet/contracts'
import { Type } from '@gauntlet/contracts/typebox'
import { formatFromAccept, htmlReportPolicy, regressedHeader, reportFormats } from '../report/report-formats.js'
import type { RunReports } from '../report/report-maker.js'
import { insecureTlsWarning } from '../report/run-warnings.js'
import type { RunManager } from '../run/run-manager.js'
import type { RunQueries } from '../run/run-queries.js'
import type { ScenarioService } from '../scenario/scenario-service.js'
import {
  DecisionRecordSchema,
  IdParams,
  idPattern,
  problemResponses,
  RunAcceptedSchema,
  RunDetailSchema,
  RunEventsSchema,
  RunListItemSchema,
  RunWindowSchema,
  type RunWindow,
  TargetSeriesSchema,
} from './api-schemas.js'
import { callerOf } from './audit-log.js'
import { parseLastEventId, streamRunEvents } from './run-event-stream.js'
import type { StreamSlots } from './stream-slots.js'

const StartRunBody = Type.Object(
  {
    scenario: Type.Optional(Type.String({ minLength: 1, description: 'Name of a stored scenario.' })),
    yaml: Type.Optional(Type.String({ minLength: 1, description: 'An inline scenario.' })),
    target: Type.Optional(Type.String({ description: 'Replaces the scenario target URL.' })),
  },
  { additionalProperties: false },
)

/** Every run verdict, by a record so that a new verdict cannot be left out of the filter. */
const runVerdicts = Object.keys({ pass: 0, fail: 0, error: 0 } satisfies Record<RunVerdict, 0>)

/** Most runs one page of the list holds: each row reads a few numbers of its summary. */
const maxRunPage = 1000
const defaultRunPage = 50
const instant = (description: string) => Type.String({ format: 'date-time', maxLength: 40, description })
const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(runStatuses.map((s) => Type.Literal(s)))),
    verdict: Type.Optional(
      Type.Union(
        runVerdicts.map((v) => Type.Literal(v)),
        { description: "The summary's verdict: runs still going (no verdict yet) never match." },
      ),
    ),
    scenario: Type.Optional(Type.String({ maxLength: 200 })),
    since: Type.Optional(instant('Runs created at or after this ISO 8601 date-time (with its zone).')),
    until: Type.Optional(instant('Runs created before this ISO 8601 date-time (with its zone).')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxRunPage, default: defaultRunPage })),
    before: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,200}$',
        description: 'Where the page starts: the cursor in the Link rel="next" header of the page before.',
      }),
    ),
  },
  { additionalProperties: false },
)

/** Windows are read a page at a time: a 24 h run has 86,400 of them. */
const defaultWindowPage = 600
const maxWindowPage = 3600
const WindowsQuery = Type.Object(
  {
    agent: Type.Optional(Type.String({ maxLength: 100 })),
    request: Type.Optional(
      Type.String({
        pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$',
        description:
          "One request of a mix (scenario requests:): each window as that request's own counts and percentiles.",
      }),
    ),
    from: Type.Optional(
      Type.Integer({ minimum: 0, default: 0, description: 'Index of the first window of the page.' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxWindowPage,
        default: defaultWindowPage,
        description: 'Windows per page.',
      }),
    ),
  },
  { additionalProperties: false },
)

const ReportQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union(
        reportFormats.map((f) => Type.Literal(f)),
        { description: 'Instead of the Accept header (a link a browser opens cannot set one).' },
      ),
    ),
    baseline: Type.Optional(
      Type.String({ pattern: idPattern, description: 'Set the run beside this baseline run, step by step.' }),
    ),
    strict: Type.Optional(Type.Boolean({ description: 'JUnit: an insufficient result is a failure, not skipped.' })),
  },
  { additionalProperties: false },
)

/**
 * A date-time of the query as stored times are written (UTC, ISO 8601, milliseconds), so that it compares
 * as text; one the schema let through but no date parses (a 30th of February) is a usage problem.
 */
function utcInstant(field: string, value: string): string {
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) {
    const message = 'is not a date-time (ISO 8601 with its zone, 2026-03-01T02:00:00Z)'
    throw new GauntletError('usage', `${field} "${value}" ${message}`, {
      problems: [{ path: `/querystring/${field}`, message }],
    })
  }
  return new Date(ms).toISOString()
}

export interface RunsRoutesDeps {
  runs: RunManager
  queries: RunQueries
  scenarios: ScenarioService
  /** The --max-streams cap on open event streams. */
  streams: StreamSlots
  reports: RunReports
}

/** /api/runs: start, list, inspect, follow (SSE) and abort runs. */
export const runsRoutes: FastifyPluginCallbackTypebox<RunsRoutesDeps> = (app, deps, done) => {
  const { runs, queries, scenarios, streams, reports } = deps
  const tags = ['runs']

  app.post(
    '/api/runs',
    {
      schema: {
        tags,
        summary: 'Start a run of a stored or inline scenario',
        body: StartRunBody,
        response: { 201: RunAcceptedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { scenario, yaml, source } = await scenarios.forRun(request.body)
      // Allow-lists, caps and the controller's own address: RunManager.start's admission, for every entry.
      const id = await runs.start(scenario, yaml, source)
      // Said when it starts, not only in its summary: whoever watches the log sees an unverified target.
      if (scenario.target.tls?.insecure) request.log.warn({ runId: id }, insecureTlsWarning)
      return reply.code(201).header('location', `/api/runs/${id}`).send({ id, status: 'running' })
    },
  )

  app.get(
    '/api/runs',
    {
      schema: {
        tags,
        summary: 'Runs, newest first, a page at a time',
        description:
          'Filters combine. When more runs match, a Link rel="next" header gives the next page (the same ' +
          'filters and a `before` cursor); runs started meanwhile never shift it.',
        querystring: ListQuery,
        response: { 200: Type.Array(RunListItemSchema), ...problemResponses },
      },
    },
    (request, reply) => {
      const { status, verdict, scenario, since, until, before, limit = defaultRunPage } = request.query
      const filter = {
        ...(status !== undefined ? { status } : {}),
        ...(verdict !== undefined ? { verdict } : {}),
        ...(scenario !== undefined ? { scenario } : {}),
        ...(since !== undefined ? { since: utcInstant('since', since) } : {}),
        ...(until !== undefined ? { until: utcInstant('until', until) } : {}),
      }
      const page = queries.list({ ...filter, limit, ...(before !== undefined ? { before } : {}) })
      if (page.next !== null) {
        // The caller's own spelling of each filter, so the next page is the same list.
        const next = new URLSearchParams({
          ...(status !== undefined ? { status } : {}),
          ...(verdict !== undefined ? { verdict } : {}),
          ...(scenario !== undefined ? { scenario } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          limit: String(limit),
          before: page.next,
        })
        reply.header('link', `</api/runs?${next.toString()}>; rel="next"`)
      }
      return page.items
    },
  )

  app.get(
    '/api/runs/:id',
    {
      schema: {
        tags,
        summary: 'One run, with its summary once it ended',
        params: IdParams,
        response: { 200: RunDetailSchema, ...problemResponses },
      },
    },
    (request) => queries.detail(request.params.id),
  )

  app.get(
    '/api/runs/:id/windows',
    {
      schema: {
        tags,
        summary: 'Its per-second windows, a page at a time',
        params: IdParams,
        querystring: WindowsQuery,
        response: { 200: Type.Array(RunWindowSchema), ...problemResponses },
      },
    },
    (request, reply) => {
      const { id } = request.params
      const { agent, request: name, from = 0, limit = defaultWindowPage } = request.query
      const page = queries.windowPage(id, {
        from,
        limit,
        ...(agent !== undefined ? { agent } : {}),
        ...(name !== undefined ? { request: name } : {}),
      })
      if (page.next !== null) {
        const next = new URLSearchParams({
          ...(agent !== undefined ? { agent } : {}),
          ...(name !== undefined ? { request: name } : {}),
          from: String(page.next),
          limit: String(limit),
        })
        reply.header('link', `</api/runs/${encodeURIComponent(id)}/windows?${next.toString()}>; rel="next"`)
      }
      // The page is JSON text already (stored windows are never parsed): sent as it is, the serializer
      // leaves a string alone, and the response schema above describes it for the OpenAPI document.
      reply.type('application/json; charset=utf-8').send(page.json as unknown as RunWindow[])
    },
  )

  app.get(
    '/api/runs/:id/report',
    {
      schema: {
        tags,
        summary: 'Its report: HTML with charts, Markdown, JUnit XML or JSON, by the Accept header or ?format',
        description:
          'text/html (the default), text/markdown, application/xml (JUnit) or application/json (the report ' +
          `model). With ?baseline=<run> the runs are compared step by step and the ${regressedHeader} header ` +
          'says whether a step regressed beyond its 95% bounds. 409 while the run is still going.',
        params: IdParams,
        querystring: ReportQuery,
        response: {
          200: Type.String({ description: 'The report, in the negotiated format.' }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { format: asked, baseline, strict } = request.query
      const format = asked ?? formatFromAccept(request.headers.accept)
      if (!format)
        throw new GauntletError(
          'not_acceptable',
          `no report format matches Accept "${request.headers.accept}" (text/html, text/markdown, application/xml, application/json)`,
        )
      const made = await reports.storedRun(request.params.id, {
        format,
        strict: strict === true,
        ...(baseline !== undefined ? { baselineId: baseline } : {}),
      })
      if (made.regressed !== undefined) reply.header(regressedHeader, String(made.regressed))
      if (format === 'html') reply.header('content-security-policy', htmlReportPolicy)
      reply.header('vary', 'accept')
      return reply.type(made.contentType).send(made.body)
    },
  )

  app.get(
    '/api/runs/:id/decisions',
    {
      schema: {
        tags,
        summary: 'Every decision of the run, with its evidence',
        params: IdParams,
        response: { 200: Type.Array(DecisionRecordSchema), ...problemResponses },
      },
    },
    (request) => queries.decisions(request.params.id),
  )

  app.get(
    '/api/runs/:id/target-metrics',
    {
      schema: {
        tags,
        summary: "The target's own series (targetMetrics), every scrape",
        params: IdParams,
        response: { 200: TargetSeriesSchema, ...problemResponses },
      },
    },
    (request) => queries.targetSeries(request.params.id),
  )

  app.post(
    '/api/runs/:id/abort',
    {
      schema: {
        tags,
        summary: 'Stop a run in progress',
        params: IdParams,
        response: { 202: RunAcceptedSchema, ...problemResponses },
      },
    },
    (request, reply) => {
      const { id } = queries.run(request.params.id)
      runs.abort(id)
      reply.code(202).send({ id, status: 'aborting' })
    },
  )

  const eventsRoute = {
    schema: {
      tags,
      summary: 'Follow a run: server-sent events until it ends',
      params: IdParams,
      headers: Type.Object({
        'last-event-id': Type.Optional(
          Type.String({
            // Checked by parseLastEventId, whose problem says what an id of this stream looks like.
            description:
              'The last event id (<windows>-<decisions>) a client received: the stream first replays what it missed',
          }),
        ),
      }),
      response: { 200: RunEventsSchema, ...problemResponses },
    },
  }
  app.get('/api/runs/:id/events', eventsRoute, async (request, reply) => {
    const run = queries.run(request.params.id)
    // The scenario's credentials never leave in an event, as in GET /api/runs/:id (windows hold only
    // numbers). Read while a problem+json can still be sent, before a stream slot is taken.
    const secrets = await queries.secrets(run)
    // A client catching up says where it stands; a malformed id is refused while a 400 can still be sent.
    const from = parseLastEventId(request.headers['last-event-id'])
    // The cap is checked while a 429 problem+json can still be sent, before hijacking the response.
    const release = streams.acquire(callerOf(request) === 'anonymous')
    reply.hijack()
    const raw = reply.raw
    // The response closes when it ends or the client goes away: either frees the slot. A client that
    // left while the scenario's secrets were read is gone already: no close event will come.
    raw.once('close', release)
    if (request.raw.destroyed || raw.destroyed) {
      release()
      return
    }
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    await streamRunEvents(raw, { queries, runs }, run, from, secrets)
  })
  done()
}
