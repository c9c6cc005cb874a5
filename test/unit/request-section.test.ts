import { GauntletError } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

const base = (body: string): string => `name: mix
target:
  url: http://127.0.0.1:8080/v1
  headers: { authorization: "Bearer \${env.API_TOKEN}", x-client: gauntlet }
${body}
load: { steps: [{ rps: 10, duration: 2s }] }
`

const problems = (yaml: string): string[] => {
  try {
    parseScenario(yaml, 'mix.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(GauntletError)
    return (error as GauntletError).problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)
  }
  return []
}

describe('requests: a weighted mix', () => {
  it('builds each request on the base URL, headers merged, templates and env references kept as written', () => {
    const scenario = parseScenario(
      base(`data:
  skus: { file: ./skus.csv, order: random }
requests:
  - { name: browse, weight: 70, path: "/products/{{ data.skus.sku }}" }
  - name: create-order
    weight: 10
    method: POST
    path: /orders
    headers: { X-Client: orders, content-type: application/json }
    body: '{"id":"{{ uuid }}","qty":{{ randomInt 1 5 }}}'
    expect: { status: [201] }`),
    )
    expect(scenario.requests).toEqual([
      {
        name: 'browse',
        weight: 70,
        method: 'GET',
        path: '/v1/products/{{ data.skus.sku }}',
        headers: { authorization: 'Bearer ${env.API_TOKEN}', 'x-client': 'gauntlet' },
      },
      {
        name: 'create-order',
        weight: 10,
        method: 'POST',
        path: '/v1/orders',
        // The request's own X-Client replaces the target's x-client (names compare in any case).
        headers: { authorization: 'Bearer ${env.API_TOKEN}', 'X-Client': 'orders', 'content-type': 'application/json' },
        body: '{"id":"{{ uuid }}","qty":{{ randomInt 1 5 }}}',
        expectStatus: [201],
      },
    ])
    expect(scenario.data).toEqual({ skus: { file: './skus.csv', order: 'random' } })
  })

  it('makes the one request of a scenario without requests:, its path as written', () => {
    const scenario = parseScenario(`name: one
target: { url: "http://127.0.0.1:8080/orders/{{ seq }}?k=\${env.KEY}", method: POST, body: "{{ uuid }}" }
load: { steps: [{ rps: 10, duration: 2s }] }
`)
    expect(scenario.requests).toEqual([
      {
        name: 'default',
        weight: 1,
        method: 'POST',
        path: '/orders/{{ seq }}?k=${env.KEY}',
        headers: {},
        body: '{{ uuid }}',
      },
    ])
    expect(scenario.target.url).toBe('http://127.0.0.1:8080/orders/{{ seq }}?k=${env.KEY}')
    // Without templates the URL is shown normalized, as before.
    expect(parseScenario(base('')).target.url).toBe('http://127.0.0.1:8080/v1')
  })

  it.each([
    [
      'a literal ${NAME}',
      base('requests: [{ name: a, path: "/x", headers: { k: "${TOKEN}" } }]'),
      /\/requests\/0\/headers\/k: "\$\{TOKEN\}" at character 1 is not an environment reference/,
    ],
    [
      'an unknown template',
      base('requests: [{ name: a, path: "/x/{{ id }}" }]'),
      /5:29 \/requests\/0\/path: at character 4: unknown expression "id"/,
    ],
    [
      'a data set not defined',
      base('requests: [{ name: a, path: "/x", body: "{{ data.users.id }}" }]'),
      /\/requests\/0\/body: \{\{ data\.users\.\* \}\} reads a data set that is not defined under data:/,
    ],
    [
      'two requests of one name',
      base('requests: [{ name: a, path: "/x" }, { name: a, path: "/y" }]'),
      /\/requests\/1\/name: another request is already named "a"/,
    ],
    ['a path without "/"', base('requests: [{ name: a, path: "x" }]'), /\/requests\/0\/path: a path starts with "\/"/],
    [
      'a path that changes the host',
      base('requests: [{ name: a, path: "//evil.example/x" }]').replace('8080/v1', '8080'),
      /\/requests\/0\/path: a path cannot change the host/,
    ],
    [
      'body and bodyFile',
      base('requests: [{ name: a, path: "/x", body: "b", bodyFile: ./b.json }]'),
      /\/requests\/0\/bodyFile: give body or bodyFile, not both/,
    ],
    [
      'a target method with requests',
      base('requests: [{ name: a, path: "/x" }]').replace(
        'x-client: gauntlet }',
        'x-client: gauntlet }\n  method: POST',
      ),
      /\/target\/method: with requests:, each request names its method/,
    ],
    [
      'a template in the host',
      'name: t\ntarget: { url: "http://{{ seq }}.example/" }\nload: { steps: [{ rps: 1, duration: 1s }] }\n',
      /\/target\/url: scheme, host and port are fixed for a run/,
    ],
    [
      'a request header name that is not one',
      base('requests: [{ name: a, path: "/x", headers: { "bad name": v } }]'),
      /\/requests\/0\/headers\/bad name: "bad name" is not a valid header name/,
    ],
    [
      'an unknown key in a request',
      base('requests: [{ name: a, path: "/x", wieght: 3 }]'),
      /\/requests\/0\/wieght: unknown key "wieght"/,
    ],
    [
      'a weight of 0',
      base('requests: [{ name: a, path: "/x", weight: 0 }]'),
      /\/requests\/0\/weight: expected integer to be greater or equal to 1/,
    ],
  ])('refuses %s, at its line', (_name, yaml, message) => {
    const found = problems(yaml)
    expect(found.join('\n')).toMatch(message)
    expect(found.every((p) => /^\d+:\d+ /.test(p))).toBe(true)
  })
})

describe('thresholds on one request: metric{request=<name>}', () => {
  const mix = base('requests: [{ name: browse, path: /b, weight: 7 }, { name: create-order, path: /o }]')
  it('parses the selector and keeps the name', () => {
    const scenario = parseScenario(
      `${mix}thresholds: ["p99 < 800ms", "p99{request=create-order} < 1s", "error_rate{ request = browse } < 0.5%"]\n`,
    )
    expect(scenario.thresholds.map((t) => [t.metric, t.request, t.limit])).toEqual([
      ['p99', undefined, 800],
      ['p99', 'create-order', 1000],
      ['error_rate', 'browse', 0.005],
    ])
  })

  it('refuses a name the mix does not have, and a selector without a mix', () => {
    expect(problems(`${mix}thresholds: ["p99{request=checkout} < 1s"]\n`).join('\n')).toMatch(
      /\/thresholds\/0: threshold "p99\{request=checkout\} < 1s": no request is named "checkout"; the requests are browse, create-order/,
    )
    expect(problems(`${base('')}thresholds: ["p99{request=a} < 1s"]\n`).join('\n')).toMatch(
      /selects a request of a requests: mix, and this scenario has none/,
    )
  })
})
