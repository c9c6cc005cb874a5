import type { FaultEngine } from '@gauntlet/faults'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RunManager } from '../../apps/controller/src/run/run-manager.js'
import { Scheduler } from '../../apps/controller/src/schedule/scheduler.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { inProcessController } from '../helpers/in-process-controller.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

interface Schema {
  type?: string
  pattern?: string
  enum?: unknown[]
  anyOf?: unknown[]
}
interface Operation {
  parameters?: Array<{ in: string; name: string; schema?: Schema }>
  requestBody?: { content?: Record<string, { schema?: Schema }> }
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>
}
interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, Operation>>
}

/** Mutations that take no body by design: everything they need is in the path. */
const bodiless = new Set(['POST /api/runs/{id}/abort'])
const mutations = new Set(['post', 'put', 'patch'])

/** `/api/runs/:id` as OpenAPI writes it: `/api/runs/{id}`. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

/**
 * The OpenAPI document a real controller serves is complete: every route fastify registered is in
 * it, and every operation has its schemas (params, query, body, a 2xx response, problem+json errors).
 * A route added without schemas fails here.
 */
describe('the OpenAPI document', () => {
  let controller: ControllerUnderTest
  let document: OpenApiDocument
  /** Every route fastify registers in buildApp, as "METHOD /path", but the /docs pages' own. */
  const registered = new Set<string>()
  let app: FastifyInstance
  let store: SqliteStore
  let runs: RunManager
  let scheduler: Scheduler

  beforeAll(async () => {
    controller = await startController()
    const response = await controller.api('/docs/json')
    expect(response.status).toBe(200)
    document = (await response.json()) as OpenApiDocument

    // The same app in this process, to see what fastify registers (the real controller's faults included).
    ;({ store, runs, scheduler, app } = inProcessController({
      env: { GAUNTLET_TOKEN: 'token' },
      faults: {} as FaultEngine,
    }))
    app.addHook('onRoute', (route) => {
      // Not the /docs pages themselves, nor the dashboard's page and files (not API: they carry no data),
      // nor the HEAD twin fastify adds to each GET. Any other route hidden from the document
      // (schema.hide) is still counted: it fails the comparison below.
      if (route.url.startsWith('/docs') || route.config?.publicAsset) return
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') registered.add(`${method} ${openApiPath(route.url)}`)
      }
    })
    await app.ready()
  })
  afterAll(async () => {
    await app?.close()
    scheduler?.stop()
    await runs?.shutdown()
    store?.close()
    await controller?.stop()
  })

  const operations = (): Array<[string, Operation]> =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]): [string, Operation] => [
        `${method.toUpperCase()} ${path}`,
        operation,
      ]),
    )

  it('lists every route fastify registered, and nothing else', () => {
    expect(registered.size).toBeGreaterThanOrEqual(26)
    expect(new Set(operations().map(([key]) => key))).toEqual(registered)
  })

  it('gives every operation a 2xx response with a schema (204: no body) and problem+json errors', () => {
    const missing: string[] = []
    for (const [key, operation] of operations()) {
      const responses = Object.entries(operation.responses ?? {})
      const ok = responses.filter(([status]) => /^2/.test(status))
      const described = ok.some(
        ([status, response]) =>
          status === '204' || Object.values(response.content ?? {}).some((media) => media.schema !== undefined),
      )
      if (!described) missing.push(`${key}: no 2xx response schema`)
      for (const range of ['4XX', '5XX']) {
        if (!operation.responses?.[range]?.content?.['application/problem+json']?.schema)
          missing.push(`${key}: no ${range} problem+json`)
      }
    }
    expect(missing).toEqual([])
  })

  it('declares every path parameter with a validating schema, every query parameter and every body', () => {
    const missing: string[] = []
    for (const [key, operation] of operations()) {
      const [method, path] = key.split(' ') as [string, string]
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)) {
        const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name)
        if (!parameter?.schema?.pattern && !parameter?.schema?.enum)
          missing.push(`${key}: path parameter ${name} without a pattern`)
      }
      for (const parameter of operation.parameters ?? []) {
        const schema = parameter.schema
        if (!schema?.type && !schema?.anyOf && !schema?.enum)
          missing.push(`${key}: ${parameter.in} parameter ${parameter.name} without a schema`)
      }
      if (mutations.has(method.toLowerCase()) && !bodiless.has(key)) {
        const body = Object.values(operation.requestBody?.content ?? {})
        if (!body.some((media) => media.schema !== undefined)) missing.push(`${key}: no body schema`)
      }
    }
    expect(missing).toEqual([])
  })

  it('documents the query of the routes that take one', () => {
    const query = (key: string) => {
      const [method, path] = key.split(' ') as [string, string]
      return (document.paths[path]?.[method.toLowerCase()]?.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort()
    }
    expect(query('GET /api/runs')).toEqual(['before', 'limit', 'scenario', 'since', 'status', 'until', 'verdict'])
    expect(query('GET /api/runs/{id}/windows')).toEqual(['agent', 'from', 'limit', 'request'])
  })

  it('refuses an id outside the pattern with a 400 problem naming the parameter', async () => {
    for (const path of ['/api/runs/..%2Fetc', '/api/runs/a%20b/windows', '/api/schedules/sch.1']) {
      const response = await controller.api(path)
      expect(response.status).toBe(400)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(await response.json()).toMatchObject({ code: 'usage', problems: [{ path: '/params/id' }] })
    }
  })
})
