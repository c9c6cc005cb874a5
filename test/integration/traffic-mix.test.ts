import type { RunSummary, WindowReport } from '@gauntlet/contracts'
import Database from 'better-sqlite3'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { startRecordingServer, type RecordedRequest, type RecordingServer } from '../helpers/recording-server.js'

/**
 * Issue 15, real traffic: a weighted mix with templated requests, data from a file and a token from the
 * environment, run by the real CLI against a server that counts what it receives.
 */
describe('a weighted mix of templated requests (gauntlet run)', () => {
  let server: RecordingServer
  /** Epoch ms each request arrived, in the order of server.requests. */
  const arrivals: number[] = []

  beforeAll(async () => {
    server = await startRecordingServer('127.0.0.1', (request, response) => {
      arrivals.push(Date.now())
      if (request.path === '/orders') {
        response.writeHead(201, { 'content-type': 'application/json' }).end('{"status":"created"}')
      } else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
  })
  afterAll(async () => {
    await server.close()
  })

  /** Runs a scenario file in a fresh directory (with its data files) and collects its outcome. */
  async function run(yaml: string, files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
    const dir = tempDir()
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    const file = writeScenario(dir, yaml)
    const db = join(dir, 'runs.db')
    const summaryFile = join(dir, 'summary.json')
    const from = server.requests.length
    const result = await runCli(['run', file, '--db', db, '--summary', summaryFile], { env })
    const summary = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary) : undefined
    return { ...result, db, summary, received: server.requests.slice(from), arrivedAt: arrivals.slice(from) }
  }

  const token = 'orders-token-7f3a9c'
  const skus = 'sku,name\nA1,Apple\nB2,"Banana, ripe"\nC3,Cherry\n'
  const mix = (): string => `name: shop-mix
target: { url: "${server.url}", timeout: 2s }
data:
  skus: { file: ./skus.csv }
requests:
  - { name: browse, weight: 70, path: "/products/{{ data.skus.sku }}" }
  - name: cart
    weight: 20
    method: POST
    path: /cart
    headers: { content-type: application/json }
    body: '{"n":{{ seq }},"sku":"{{ data.skus.sku }}"}'
  - name: create-order
    weight: 10
    method: POST
    path: /orders
    headers: { authorization: "Bearer \${env.ORDERS_TOKEN}", content-type: application/json }
    body: '{"id":"{{ uuid }}","qty":{{ randomInt 1 5 }},"at":"{{ now }}"}'
    expect: { status: [201], bodyContains: '"status":"created"' }
load:
  steps: [{ rps: 100, duration: 10s }]
thresholds:
  - p99 < 1s
  - error_rate{request=create-order} < 5%
`

  it(`sends 70/20/10 in every second, every order with its own uuid and the token from the environment, \
rows in file order; each request judged and summarized apart`, async () => {
    const result = await run(mix(), { 'skus.csv': skus }, { ORDERS_TOKEN: token })
    // A loaded machine can make a second generator-limited (exit 3): the counts below hold either way,
    // and the verdict is checked when the generator kept its schedule.
    const limited = result.summary?.steps[0]?.verdict === 'generator-limited'
    expect(result.code, result.stderr).toBe(limited ? 3 : 0)
    const byPath = (test: (r: RecordedRequest) => boolean) => result.received.filter(test)
    const browse = byPath((r) => r.path.startsWith('/products/'))
    const carts = byPath((r) => r.path === '/cart')
    const orders = byPath((r) => r.path === '/orders')
    // The server counted exactly the plan: 1,000 sends split 70/20/10.
    expect([browse.length, carts.length, orders.length]).toEqual([700, 200, 100])
    expect(result.received).toHaveLength(1000)

    // Every second of the run, as the agent counted it: each request within one send of its share.
    const file = new Database(result.db, { readonly: true })
    const windows = (
      file.prepare('SELECT report_json FROM windows ORDER BY idx').all() as Array<{ report_json: string }>
    ).map((row) => JSON.parse(row.report_json) as WindowReport)
    file.close()
    expect(windows).toHaveLength(10)
    for (const w of windows) {
      expect(Math.abs(w.requests!.browse!.dispatched - 70), `second ${w.index}`).toBeLessThanOrEqual(1)
      expect(Math.abs(w.requests!.cart!.dispatched - 20), `second ${w.index}`).toBeLessThanOrEqual(1)
      expect(Math.abs(w.requests!['create-order']!.dispatched - 10), `second ${w.index}`).toBeLessThanOrEqual(1)
    }
    // And as the server received them, by the second each arrived in: a send near a second's edge may land
    // in the next one, more of them when a loaded machine delays a few sends (three sends of slack).
    const startedAt = windows[0]!.startedAt
    for (let second = 0; second < 10; second++) {
      const inSecond = result.received.filter(
        (_, i) => Math.floor((result.arrivedAt[i]! - startedAt) / 1000) === second,
      )
      const orderCount = inSecond.filter((r) => r.path === '/orders').length
      expect(Math.abs(orderCount - 10), `orders arriving in second ${second}`).toBeLessThanOrEqual(3)
    }

    // Templates: every order its own uuid (v4), quantities from 1 to 5, the time of the send.
    const bodies = orders.map((r) => JSON.parse(r.body) as { id: string; qty: number; at: string })
    expect(new Set(bodies.map((b) => b.id)).size).toBe(100)
    for (const b of bodies)
      expect(b.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect([...new Set(bodies.map((b) => b.qty))].sort()).toEqual([1, 2, 3, 4, 5])
    for (const b of bodies) expect(Math.abs(Date.parse(b.at) - startedAt)).toBeLessThan(15_000)
    // The token was read from the environment and sent; it is printed nowhere.
    expect(new Set(orders.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${token}`]))
    expect(`${result.stdout}${result.stderr}${JSON.stringify(result.summary)}`).not.toContain(token)
    // seq: one counter for the run's sends, so the carts carry distinct, increasing numbers.
    const seqs = carts.map((r) => (JSON.parse(r.body) as { n: number }).n)
    expect(new Set(seqs).size).toBe(200)
    // Sequential rows wrap: 900 sends read the skus (browse and cart), 300 of each in file order.
    const skuOf = (r: RecordedRequest): string =>
      r.path.startsWith('/products/') ? r.path.slice('/products/'.length) : (JSON.parse(r.body) as { sku: string }).sku
    const counts: Record<string, number> = {}
    for (const r of [...browse, ...carts]) counts[skuOf(r)] = (counts[skuOf(r)] ?? 0) + 1
    expect(counts).toEqual({ A1: 300, B2: 300, C3: 300 })

    // Each request summarized and judged apart.
    const [step] = result.summary!.steps
    expect(step!.requests).toMatchObject({
      browse: { sent: 700, completed: 700, errors: 0 },
      cart: { sent: 200, completed: 200, errors: 0 },
      'create-order': { sent: 100, completed: 100, errors: 0 },
    })
    if (!limited)
      expect(step!.thresholds.map((t) => [t.threshold, t.pass])).toEqual([
        ['p99 < 1s', true],
        ['error_rate{request=create-order} < 5%', true],
      ])
  }, 60_000)

  it('counts a failed check against its request alone, and a threshold on that request fails the run', async () => {
    const yaml = mix()
      .replace('bodyContains: \'"status":"created"\'', 'bodyContains: \'"status":"queued"\'')
      .replace('duration: 10s', 'duration: 3s')
    const result = await run(yaml, { 'skus.csv': skus }, { ORDERS_TOKEN: token })
    // Failed on the target's errors, whether or not the client was also late (a rate threshold stands).
    expect(result.code, result.stderr).toBe(1)
    const [step] = result.summary!.steps
    expect(step!.requests!['create-order']).toMatchObject({ sent: 30, errors: 30, errorsByClass: { check: 30 } })
    expect(step!.requests!.browse).toMatchObject({ sent: 210, errors: 0 })
    expect(step!.thresholds.find((t) => t.threshold.startsWith('error_rate{'))).toMatchObject({
      pass: false,
      observed: 1,
    })
  }, 30_000)

  it('stops when a unique data set runs out, saying so, having sent each row once', async () => {
    const users = `id\n${Array.from({ length: 50 }, (_, i) => `u${i + 1}`).join('\n')}\n`
    const result = await run(
      `name: unique-users
target: { url: "${server.url}" }
data:
  users: { file: ./users.csv, order: unique }
requests:
  - { name: signup, method: POST, path: "/users/{{ data.users.id }}" }
load:
  steps: [{ rps: 25, duration: 4s }]
`,
      { 'users.csv': users },
    )
    expect(result.summary?.status, result.stderr).toBe('aborted')
    expect(result.summary!.reasons.join('\n')).toMatch(/data set users \(unique\) ran out after 50 rows/)
    expect(result.received.map((r) => r.path).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `/users/u${i + 1}`).sort(),
    )
  }, 30_000)

  it('refuses to start without a variable the requests read, naming it and its line; nothing is sent', async () => {
    const before = server.requests.length
    const result = await run(mix(), { 'skus.csv': skus })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      /scenario\.yaml:\d+:\d+ \/requests\/2\/headers\/authorization: \$\{env\.ORDERS_TOKEN\}: the variable ORDERS_TOKEN is not set/,
    )
    expect(server.requests.length).toBe(before)
  })

  it('refuses a data file with a broken row, naming the file and line', async () => {
    const result = await run(mix(), { 'skus.csv': 'sku,name\nA1\n' }, { ORDERS_TOKEN: token })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/\/data\/skus\/file: \.\/skus\.csv: line 2: 1 field, the header has 2/)
  })
})
