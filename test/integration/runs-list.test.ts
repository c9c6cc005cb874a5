import type { FaultRecord, ObservedStep, RunStatus, RunSummary } from '@gauntlet/contracts'
import type { ProblemDetails } from '@gauntlet/http'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunListItem } from '../../apps/controller/src/run/run-queries.js'
import type { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { inProcessController } from '../helpers/in-process-controller.js'

/** GET /api/runs on a real app and SQLite file: filters, keyset paging, and each row's numbers. */
describe('GET /api/runs: filters, paging and row numbers', () => {
  let app: FastifyInstance
  let store: SqliteStore
  let stop: () => Promise<void>

  beforeAll(() => {
    ;({ app, store, stop } = inProcessController({ publicRead: true }))
  })
  afterAll(() => stop())

  const at = (day: number, second = 0) => new Date(Date.UTC(2026, 2, day, 2, 0, second)).toISOString()
  const step = (index: number, verdict: ObservedStep['verdict'], p99Ms: number | null) =>
    ({ index, verdict, p99Ms }) as ObservedStep
  const fault = (appliedAt: string | null) => ({ id: 'f', appliedAt }) as FaultRecord

  /** A finished run as the run service stores it: the row, then its summary. */
  function seed(
    id: string,
    createdAt: string,
    options: { scenario?: string; status?: RunStatus; summary?: Partial<RunSummary>; target?: string } = {},
  ): void {
    const scenario = options.scenario ?? 'orders'
    const target = options.target ?? 'http://127.0.0.1:1/'
    store.createRun({ id, scenario, scenarioYaml: `name: ${scenario}`, target, createdAt })
    if (options.status === undefined) return
    const summary = {
      runId: id,
      status: options.status,
      verdict: options.status === 'passed' ? 'pass' : 'fail',
      capacityRps: null,
      startedAt: createdAt,
      finishedAt: new Date(Date.parse(createdAt) + 60_000).toISOString(),
      steps: [],
      ...options.summary,
    } as RunSummary
    store.finishRun(id, options.status, summary)
  }

  async function list(query: string): Promise<{ items: RunListItem[]; next: string | undefined }> {
    const response = await app.inject(`/api/runs${query}`)
    expect(response.statusCode).toBe(200)
    const link = response.headers.link as string | undefined
    return { items: response.json<RunListItem[]>(), next: link && /^<([^>]+)>; rel="next"$/.exec(link)![1] }
  }
  const ids = (items: RunListItem[]) => items.map((r) => r.id)

  async function problem(query: string): Promise<ProblemDetails> {
    const response = await app.inject(`/api/runs${query}`)
    expect(response.statusCode).toBe(400)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    return response.json<ProblemDetails>()
  }

  it("masks a target's query credentials in the list, as the run's detail does", async () => {
    seed('keyed', at(9), { scenario: 'keyed', target: 'http://127.0.0.1:1/orders?api_key=s3cr3t-k3y&page=2' })
    const [item] = (await list('?scenario=keyed')).items
    expect(item!.target).not.toContain('s3cr3t-k3y')
    expect(item!.target).toContain('page=2')
    const detail = (await app.inject('/api/runs/keyed')).json<{ target: string }>()
    expect(item!.target).toBe(detail.target)
  })

  it("gives each row its duration, applied faults, worst step and p99 by step, from the run's summary", async () => {
    seed('shape-a', at(1), {
      scenario: 'shape',
      status: 'failed',
      summary: {
        startedAt: at(1, 2),
        finishedAt: new Date(Date.parse(at(1, 2)) + 95_250).toISOString(),
        capacityRps: 200,
        // Two fails: the worse is the one with the higher p99, whatever the generator-limited step's p99.
        steps: [step(0, 'pass', 120), step(1, 'fail', 300), step(2, 'fail', 450.5), step(3, 'generator-limited', 900)],
        // Three in the scenario; the last never applied (the run ended first).
        faults: [fault(at(1, 30)), fault(at(1, 60)), fault(null)],
      },
    })
    seed('shape-b', at(1, 1), {
      scenario: 'shape',
      status: 'passed',
      summary: { steps: [step(0, 'pass', null), step(1, 'pass', 80), step(2, 'pass', 75)] },
    })
    // Still running: nothing in a summary yet.
    seed('shape-c', at(1, 2), { scenario: 'shape' })

    const { items } = await list('?scenario=shape')
    expect(ids(items)).toEqual(['shape-c', 'shape-b', 'shape-a'])
    expect(items[2]).toEqual({
      id: 'shape-a',
      scenario: 'shape',
      target: 'http://127.0.0.1:1/',
      status: 'failed',
      createdAt: at(1),
      finishedAt: new Date(Date.parse(at(1, 2)) + 95_250).toISOString(),
      verdict: 'fail',
      capacityRps: 200,
      durationS: 95.25,
      faults: 2,
      worstStep: { index: 2, verdict: 'fail', p99Ms: 450.5 },
      p99ByStep: [120, 300, 450.5, 900],
    })
    expect(items[1]).toMatchObject({
      durationS: 60,
      faults: 0,
      // All pass: the highest p99 among them; a step with nothing measured comes last.
      worstStep: { index: 1, verdict: 'pass', p99Ms: 80 },
      p99ByStep: [null, 80, 75],
    })
    expect(items[0]).toMatchObject({
      status: 'running',
      verdict: null,
      durationS: null,
      faults: 0,
      worstStep: null,
      p99ByStep: [],
    })
  })

  it('narrows the list by each filter, and by several at once', async () => {
    seed('f-1', at(10), { scenario: 'filters', status: 'passed' })
    seed('f-2', at(11), { scenario: 'filters', status: 'failed' })
    seed('f-3', at(12), { scenario: 'filters', status: 'passed' })
    seed('f-4', at(13), { scenario: 'filters-other', status: 'failed' })
    seed('f-5', at(14), { scenario: 'filters', status: 'aborted', summary: { verdict: 'error' } })
    const window = `since=${at(10)}&until=${at(15)}`

    expect(ids((await list(`?${window}`)).items)).toEqual(['f-5', 'f-4', 'f-3', 'f-2', 'f-1'])
    expect(ids((await list(`?${window}&scenario=filters`)).items)).toEqual(['f-5', 'f-3', 'f-2', 'f-1'])
    expect(ids((await list(`?${window}&status=passed`)).items)).toEqual(['f-3', 'f-1'])
    expect(ids((await list(`?${window}&verdict=fail`)).items)).toEqual(['f-4', 'f-2'])
    expect(ids((await list(`?${window}&verdict=error`)).items)).toEqual(['f-5'])
    expect(ids((await list(`?${window}&verdict=fail&scenario=filters`)).items)).toEqual(['f-2'])
    // since is inclusive, until exclusive; another zone's spelling of the same instant is the same instant.
    expect(ids((await list(`?since=${at(11)}&until=${at(13)}`)).items)).toEqual(['f-3', 'f-2'])
    const plusTwo = encodeURIComponent('2026-03-11T04:00:00+02:00')
    expect(ids((await list(`?since=${plusTwo}&until=${at(13)}`)).items)).toEqual(['f-3', 'f-2'])
  })

  it(`walks every run exactly once, page by page through Link rel=next with the filters kept, \
while new runs are started between pages`, async () => {
    // Seven runs, two pairs created in the same millisecond: the id orders those.
    const seeded = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7']
    const created = [at(20), at(20, 1), at(20, 1), at(20, 2), at(20, 3), at(20, 3), at(20, 4)]
    seeded.forEach((id, i) => seed(id, created[i]!, { scenario: 'paging', status: 'passed' }))

    // A page that ends exactly with the last run has no Link.
    const exact = await list('?scenario=paging&since=2026-03-20T00:00:00Z&until=2026-03-20T02:00:02Z&limit=3')
    expect(ids(exact.items)).toEqual(['p-3', 'p-2', 'p-1'])
    expect(exact.next).toBeUndefined()

    const seen: string[] = []
    let next: string | undefined = '/api/runs?scenario=paging&verdict=pass&limit=3'
    let pages = 0
    while (next !== undefined) {
      const page = await list(next.slice('/api/runs'.length))
      seen.push(...ids(page.items))
      if (page.next !== undefined) {
        const url = new URL(page.next, 'http://x')
        expect(Object.fromEntries(url.searchParams)).toMatchObject({ scenario: 'paging', verdict: 'pass', limit: '3' })
      }
      // Runs started now are newer than every page so far: they neither shift nor repeat the next one,
      // even one created in the same millisecond as the page's last run (its id sorts it first).
      const last = page.items.at(-1)!
      seed(`p-new-${pages}`, at(21, pages), { scenario: 'paging', status: 'passed' })
      seed(`${last.id}z`, last.createdAt, { scenario: 'paging', status: 'passed' })
      next = page.next
      pages++
    }
    expect(pages).toBe(3)
    expect(seen).toEqual(['p-7', 'p-6', 'p-5', 'p-4', 'p-3', 'p-2', 'p-1'])
  })

  it.each([
    ['since', '?since=yesterday'],
    ['since', '?since=2026-03-01'],
    ['until', '?until=2026-13-01T00:00:00Z'],
    ['until', '?until=2026-02-30T00:00:00Z'],
    ['before', '?before=not*a*cursor'],
    // Well-formed base64url, but not a cursor this list gave.
    ['before', `?before=${Buffer.from('2026-03-01|x').toString('base64url')}`],
    ['before', `?before=${Buffer.from("2026-03-01T00:00:00.000Z|x' OR 1=1").toString('base64url')}`],
    ['before', '?before=AAAA'],
    ['limit', '?limit=0'],
    ['verdict', '?verdict=passed'],
  ])('refuses a bad %s with a 400 problem naming it (%s)', async (field, query) => {
    const body = await problem(query)
    expect(body.code).toBe('usage')
    expect(body.problems?.map((p) => p.path)).toContain(`/querystring/${field}`)
  })

  it('reads a cursor for a run that is gone as a place in the list, not an error', async () => {
    const cursor = Buffer.from(`${at(20, 3)}|p-55`).toString('base64url')
    expect(ids((await list(`?scenario=paging&before=${cursor}&limit=2`)).items)).toEqual(['p-5', 'p-4'])
  })
})
