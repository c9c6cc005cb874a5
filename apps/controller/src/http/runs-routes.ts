import { GauntletError } from '@gauntlet/contracts'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { RunManager } from '../run/run-manager.js'
import { yamlPool } from '../scenario/yaml-pool.js'
import { scrubSecrets } from '../security/redact.js'
import { callerOf } from './audit-log.js'
import { overrideTarget } from '../scenario/target-override.js'
import { parseLastEventId, streamRunEvents } from './run-event-stream.js'
import type { StreamSlots } from './stream-slots.js'
import { runStatuses, type RunStatus, type RunStore, type ScenarioStore, type StoredRun } from '../storage/run-store.js'

const StartRunBody = Type.Object(
  {
    scenario: Type.Optional(Type.String({ minLength: 1, description: 'Name of a stored scenario.' })),
    yaml: Type.Optional(Type.String({ minLength: 1, description: 'An inline scenario.' })),
    target: Type.Optional(Type.String({ description: 'Replaces the scenario target URL.' })),
  },
  { additionalProperties: false },
)

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(runStatuses.map((s) => Type.Literal(s)))),
    scenario: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  },
  { additionalProperties: false },
)

/** Windows are read a page at a time: a 24 h run has 86,400 of them. */
const defaultWindowPage = 600
const maxWindowPage = 3600
const WindowsQuery = Type.Object(
  {
    agent: Type.Optional(Type.String({ maxLength: 100 })),
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
const RunParams = Type.Object({ id: Type.String() })

export interface RunsRoutesDeps {
  store: RunStore & ScenarioStore
  runs: RunManager
  /** The --max-streams cap on open event streams. */
  streams: StreamSlots
}

/** /api/runs: start, list, inspect, follow (SSE) and abort runs. */
export async function runsRoutes(app: FastifyInstance, { store, runs, streams }: RunsRoutesDeps): Promise<void> {
  app.post<{ Body: Static<typeof StartRunBody> }>(
    '/api/runs',
    { schema: { body: StartRunBody } },
    async (request, reply) => {
      const { scenario: name, yaml: inline, target } = request.body
      if ((name === undefined) === (inline === undefined))
        throw new GauntletError('usage', 'give either "scenario" (a stored name) or "yaml" (an inline scenario)')
      const yaml = inline ?? store.getScenario(name!)?.yaml
      if (yaml === undefined) throw new GauntletError('not_found', `no scenario named "${name}"`)
      const source = inline !== undefined ? 'yaml' : `scenario ${name}`
      // On a YAML thread: a heavy document never stalls the event loop (nor other runs' agents).
      const loaded = await yamlPool().parse(yaml, source)
      const scenario = target ? overrideTarget(loaded, target, 'target') : loaded
      // Allow-lists, caps and the controller's own address: RunManager.start's admission, for every entry.
      const id = await runs.start(scenario, yaml, source)
      return reply.code(201).header('location', `/api/runs/${id}`).send({ id, status: 'running' })
    },
  )

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/runs',
    { schema: { querystring: ListQuery } },
    async (request) => {
      const { status, scenario, limit = 50 } = request.query
      return store
        .listRuns({ ...(status ? { status: status as RunStatus } : {}), ...(scenario ? { scenario } : {}), limit })
        .map(runListItem)
    },
  )

  app.get<{ Params: Static<typeof RunParams> }>('/api/runs/:id', async (request) => {
    const run = store.getRun(request.params.id)
    if (!run) throw notFound(request.params.id)
    // The agents that carried it (known once it ends; the embedded agent has no name).
    const agents = run.summary ? (run.summary.agents?.map((a) => a.name) ?? ['in-process']) : []
    // A credential of its scenario (a target header) never shows, even quoted in a reason.
    return scrubSecrets(
      { ...runListItem(run), agents, summary: run.summary },
      await yamlPool().secrets(run.scenarioYaml),
    )
  })

  app.get<{ Params: Static<typeof RunParams>; Querystring: Static<typeof WindowsQuery> }>(
    '/api/runs/:id/windows',
    { schema: { querystring: WindowsQuery } },
    async (request, reply) => {
      const { id } = request.params
      if (!store.getRun(id)) throw notFound(id)
      const { agent, from = 0, limit = defaultWindowPage } = request.query
      // Merged windows by default; one remote agent's own windows with ?agent=<name>. Percentiles were
      // stored with each window, so a page costs a range read and no histogram decoding.
      const page = store.windowPage(id, { from, limit, ...(agent !== undefined ? { agent } : {}) })
      if (page.next !== null) {
        const next = new URLSearchParams({
          ...(agent !== undefined ? { agent } : {}),
          from: String(page.next),
          limit: String(limit),
        })
        reply.header('link', `</api/runs/${encodeURIComponent(id)}/windows?${next}>; rel="next"`)
      }
      // Each stored window is JSON already: it is sent as it is, with its percentiles added.
      const body = page.windowsJson.map(({ report, latencyMs }) => `${report.slice(0, -1)},"latencyMs":${latencyMs}}`)
      return reply.type('application/json; charset=utf-8').send(`[${body.join(',')}]`)
    },
  )

  app.get<{ Params: Static<typeof RunParams> }>('/api/runs/:id/decisions', async (request) => {
    if (!store.getRun(request.params.id)) throw notFound(request.params.id)
    return store.decisions(request.params.id)
  })

  // The target's own series (targetMetrics): every scrape, in run seconds (negative: before the load).
  app.get<{ Params: Static<typeof RunParams> }>('/api/runs/:id/target-metrics', async (request) => {
    if (!store.getRun(request.params.id)) throw notFound(request.params.id)
    return store.targetSeries(request.params.id)
  })

  app.post<{ Params: Static<typeof RunParams> }>('/api/runs/:id/abort', async (request, reply) => {
    if (!store.getRun(request.params.id)) throw notFound(request.params.id)
    runs.abort(request.params.id)
    return reply.code(202).send({ id: request.params.id, status: 'aborting' })
  })

  app.get<{ Params: Static<typeof RunParams> }>('/api/runs/:id/events', async (request, reply) => {
    const run = store.getRun(request.params.id)
    if (!run) throw notFound(request.params.id)
    // The scenario's credentials never leave in an event, as in GET /api/runs/:id (windows hold only
    // numbers). Read while a problem+json can still be sent, before a stream slot is taken.
    const secrets = await yamlPool().secrets(run.scenarioYaml)
    // A client catching up says where it stands; a malformed id is refused while a 400 can still be sent.
    const from = parseLastEventId(request.headers['last-event-id'])
    // The cap is checked while a 429 problem+json can still be sent, before hijacking the response.
    const release = streams.acquire(callerOf(request) === 'anonymous')
    reply.hijack()
    const raw = reply.raw
    // The response closes when it ends or the client goes away: either frees the slot.
    raw.once('close', release)
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    await streamRunEvents(raw, { store, runs }, run, from, secrets)
  })
}

function runListItem(run: StoredRun) {
  return {
    id: run.id,
    scenario: run.scenario,
    target: run.target,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    verdict: run.summary?.verdict ?? null,
    capacityRps: run.summary?.capacityRps ?? null,
  }
}

function notFound(id: string): GauntletError {
  return new GauntletError('not_found', `no run with id "${id}"`)
}
