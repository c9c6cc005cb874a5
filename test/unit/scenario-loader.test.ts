import { GauntletError } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

const valid = `name: orders-ramp
target:
  url: http://127.0.0.1:8080/api/orders
  method: POST
  headers: { content-type: application/json }
  body: '{"sku":"A1"}'
  timeout: 5s
load:
  ramp: { from: 100, to: 800, step: 100, every: 30s }
  warmup: 2s
  connections: 64
thresholds:
  - p99 < 800ms
  - error_rate < 0.5%
`

/** Problems as "line:column path: message" for compact tables. */
function problemsOf(text: string): string[] {
  try {
    parseScenario(text, 'test.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(GauntletError)
    const e = error as GauntletError
    expect(e.code).toBe('invalid_scenario')
    return e.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)
  }
  return []
}

describe('scenario loader', () => {
  it('accepts the documented example and converts units', () => {
    const scenario = parseScenario(valid)
    expect(scenario).toMatchObject({
      name: 'orders-ramp',
      target: {
        url: 'http://127.0.0.1:8080/api/orders',
        method: 'POST',
        timeoutMs: 5000,
        body: '{"sku":"A1"}',
        headers: { 'content-type': 'application/json' },
      },
      warmupS: 2,
      connections: 64,
      onThresholdFail: 'stop',
    })
    expect(scenario.steps).toHaveLength(8)
    expect(scenario.steps[7]).toEqual({ rps: 800, durationS: 30 })
    expect(scenario.thresholds.map((t) => t.limit)).toEqual([800, 0.005])
  })

  it('applies defaults', () => {
    const scenario = parseScenario(
      'name: x\ntarget: { url: "http://localhost/" }\nload: { steps: [{ rps: 5, duration: 2s }] }\n',
    )
    expect(scenario).toMatchObject({
      target: { method: 'GET', timeoutMs: 10_000, headers: {} },
      warmupS: 0,
      maxConnections: 1000,
      thresholds: [],
    })
  })

  it.each([
    ['YAML syntax error', 'name: x\ntarget: [\n', ['YAML:']],
    ['duplicate key', 'name: x\nname: y\n', ['2:1 : YAML: Map keys must be unique']],
    ['not a mapping', '- a\n- b\n', ['1:1 : a scenario is a YAML mapping']],
    ['missing sections', 'name: x\n', ['/target: missing required key "target"', '/load: missing required key "load"']],
    ['unknown top-level key', valid + 'colour: blue\n', ['15:1 /colour: unknown key "colour"']],
    [
      'unknown nested key',
      valid.replace('  timeout: 5s', '  timeout: 5s\n  retries: 3'),
      ['8:3 /target/retries: unknown key "retries"'],
    ],
    [
      'duration without unit',
      valid.replace('every: 30s', 'every: 30'),
      ['9:49 /load/ramp/every: expected a duration with a unit'],
    ],
    ['wrong unit', valid.replace('timeout: 5s', 'timeout: 5sec'), ['7:12 /target/timeout: expected a duration']],
    ['zero rate', valid.replace('from: 100', 'from: 0'), ['/load/ramp/from: expected number to be greater than 0']],
    ['negative rate', valid.replace('to: 800', 'to: -5'), ['/load/ramp/to: expected number to be greater than 0']],
    [
      'absurd rate',
      valid.replace('to: 800', 'to: 5000000'),
      ['/load/ramp/to: expected number to be less or equal to 1000000'],
    ],
    ['rate as text', valid.replace('from: 100', 'from: fast'), ['/load/ramp/from: expected number']],
    [
      'not http',
      valid.replace('http://127.0.0.1:8080', 'ftp://127.0.0.1'),
      ['3:8 /target/url: only http:// and https:// URLs can be loaded'],
    ],
    [
      'not a URL',
      valid.replace('http://127.0.0.1:8080/api/orders', 'orders'),
      ['/target/url: "orders" is not a valid URL'],
    ],
    ['unknown method', valid.replace('POST', 'FETCH'), ['4:11 /target/method: expected one of: GET, HEAD, POST']],
    [
      'threshold on unknown metric',
      valid.replace('p99 < 800ms', 'p42 < 800ms'),
      ['13:5 /thresholds/0: threshold "p42 < 800ms": unknown metric'],
    ],
    [
      'warmup as long as a step',
      valid.replace('warmup: 2s', 'warmup: 30s'),
      ['/load/warmup: warmup (30s) must be shorter than every step'],
    ],
    [
      'fixed and max connections',
      valid.replace('connections: 64', 'connections: 64\n  maxConnections: 10'),
      ['/load/maxConnections: maxConnections applies only when'],
    ],
    [
      'timeout beyond 5 minutes',
      valid.replace('timeout: 5s', 'timeout: 100000h'),
      ['7:12 /target/timeout: timeout must be between 1ms and 5m'],
    ],
    [
      'credentials in the URL',
      valid.replace('http://127.0.0.1:8080', 'http://user:secret@127.0.0.1:8080'),
      ['/target/url: credentials in the URL are not sent'],
    ],
    [
      'header name that is not a token',
      valid.replace('content-type: application/json', '"bad name": x'),
      ['/target/headers/bad name: "bad name" is not a valid header name'],
    ],
    [
      'header value with a line break',
      valid.replace('content-type: application/json', 'x-a: "1\\r\\nx-b: 2"'),
      ['/target/headers/x-a: a header value cannot contain CR, LF or NUL'],
    ],
    [
      'framing header',
      valid.replace('content-type: application/json', 'Content-Length: "5"'),
      ['/target/headers/Content-Length: Content-Length is set by Gauntlet'],
    ],
    [
      'empty Host',
      valid.replace('content-type: application/json', 'host: ""'),
      ['/target/headers/host: an empty Host header'],
    ],
    [
      'alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n' +
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
      ['YAML: Excessive alias count'],
    ],
    [
      'zero connections',
      valid.replace('connections: 64', 'connections: 0'),
      ['/load/connections: expected integer to be greater or equal to 1'],
    ],
    [
      'backwards status range',
      valid.replace('  timeout: 5s', "  timeout: 5s\n  expect: { status: [200, '299-200'] }"),
      ['8:27 /target/expect/status/1: "299-200" runs backwards'],
    ],
    [
      'status class beyond 5xx',
      valid.replace('  timeout: 5s', "  timeout: 5s\n  expect: { status: ['6xx'] }"),
      ['/target/expect/status/0: "6xx" is not a status class: classes are 1xx to 5xx'],
    ],
    [
      'status that is no status',
      valid.replace('  timeout: 5s', '  timeout: 5s\n  expect: { status: [2000] }'),
      ['/target/expect/status/0: expected a status (100-599), a range of statuses ("200-299") or a class ("2xx")'],
    ],
    [
      'empty bodyContains',
      valid.replace('  timeout: 5s', "  timeout: 5s\n  expect: { bodyContains: '' }"),
      ['/target/expect/bodyContains: expected string length greater or equal to 1'],
    ],
    [
      'bodyContains over 4096 characters',
      valid.replace('  timeout: 5s', `  timeout: 5s\n  expect: { bodyContains: '${'x'.repeat(4097)}' }`),
      ['/target/expect/bodyContains: expected string length less or equal to 4096'],
    ],
    [
      'expected header listed twice',
      valid.replace('  timeout: 5s', '  timeout: 5s\n  expect: { header: { X-Version: v2, x-version: v3 } }'),
      ['/target/expect/header/x-version: header "x-version" is listed twice (names are case-insensitive)'],
    ],
    [
      'expected header name that is not a token',
      valid.replace('  timeout: 5s', '  timeout: 5s\n  expect: { header: { "x version": v2 } }'),
      ['/target/expect/header/x version: "x version" is not a valid header name'],
    ],
    [
      'more than 20 expected headers',
      valid.replace(
        '  timeout: 5s',
        `  timeout: 5s\n  expect: { header: { ${Array.from({ length: 21 }, (_, i) => `x-${i}: a`).join(', ')} } }`,
      ),
      ['/target/expect/header: expected object to have no more than 20 properties'],
    ],
    [
      'followRedirects that is not a boolean',
      valid.replace('  timeout: 5s', '  timeout: 5s\n  followRedirects: yes please'),
      ['/target/followRedirects: expected boolean'],
    ],
    // Hook secrets are references to GAUNTLET_SECRET_* variables: a literal would be stored and shown, another variable
    // could be the API token.
    [
      'credentials in a hook URL',
      valid + 'hooks:\n  postRun: [{ url: "http://u:pw@127.0.0.1:9/" }]\n',
      ['/hooks/postRun/0/url: credentials (user:password@) in the URL'],
    ],
    [
      'credentials in the target metrics URL',
      valid + 'targetMetrics: { url: "http://u:pw@127.0.0.1:9/metrics", series: [rss] }\n',
      ['/targetMetrics/url: credentials (user:password@) in the URL'],
    ],
    [
      'literal hook secret',
      valid + 'hooks:\n  postRun:\n    - { url: "http://127.0.0.1:9/", secret: "hunter2" }\n',
      ['17:45 /hooks/postRun/0/secret: a hook secret is a reference'],
    ],
    [
      'hook secret naming another variable',
      valid + 'hooks:\n  onRollback: [{ url: "http://127.0.0.1:9/", secret: "${GAUNTLET_TOKEN}" }]\n',
      ['/hooks/onRollback/0/secret: a hook secret is a reference "${GAUNTLET_SECRET_NAME}"'],
    ],
  ])('%s', (_name, text, expected) => {
    const problems = problemsOf(text)
    for (const fragment of expected) expect(problems.join('\n')).toContain(fragment)
  })

  it('carries target.expect and followRedirects as written', () => {
    const scenario = parseScenario(
      valid.replace(
        '  timeout: 5s',
        "  timeout: 5s\n  followRedirects: true\n  expect: { status: [201, '2xx', '300-302'], bodyContains: created, " +
          'header: { X-Version: v2 } }',
      ),
    )
    expect(scenario.target).toMatchObject({
      expectStatus: [201, '2xx', '300-302'],
      expectBodyContains: 'created',
      expectHeader: { 'X-Version': 'v2' },
      followRedirects: true,
    })
    expect(parseScenario(valid).target).not.toHaveProperty('followRedirects')
  })

  it('a hook secret problem never repeats the literal', () => {
    expect(
      problemsOf(valid + 'hooks:\n  postRun: [{ url: "http://127.0.0.1:9/", secret: "hunter2" }]\n').join('\n'),
    ).not.toContain('hunter2')
  })

  it('accepts a hook secret that references a GAUNTLET_SECRET_ variable', () => {
    const scenario = parseScenario(
      valid + 'hooks:\n  postRun: [{ url: "http://127.0.0.1:9/", secret: "${GAUNTLET_SECRET_DONE}" }]\n',
    )
    expect(scenario.hooks.postRun).toEqual([
      { url: 'http://127.0.0.1:9/', secret: '${GAUNTLET_SECRET_DONE}', timeoutMs: 5000, retries: 3 },
    ])
  })

  it('reports at most 100 problems and says there are more, however many the document has', () => {
    const text =
      'name: x\ntarget: { url: "http://127.0.0.1:1/" }\nload: { steps: [{ rps: 1, duration: 1s }] }\n' +
      Array.from({ length: 5000 }, (_, i) => `k${i}: 1\n`).join('')
    const problems = problemsOf(text)
    expect(problems).toHaveLength(101)
    expect(problems.at(-1)).toMatch(/and more problems not shown/)
  })

  it('refuses flow collections nested deeper than 64 levels before parsing them, with where', () => {
    expect(problemsOf(`name: x\nlabels: ${'['.repeat(65)}${']'.repeat(65)}\n`)).toEqual([
      expect.stringMatching(/^2:73 : YAML: collections nested deeper than 64 levels/),
    ])
    // Brackets in quoted text and in words do not count.
    expect(problemsOf(`name: x\ndescription: "${'['.repeat(100)}" it's ${'{'.repeat(3)}\n`).join('\n')).not.toMatch(
      /nested deeper/,
    )
  })

  it('finds a repeated key anywhere, with its position', () => {
    expect(problemsOf('name: x\ntarget:\n  url: a\n  url: b\n')).toEqual([
      expect.stringMatching(/^4:3 : YAML: Map keys must be unique/),
    ])
  })

  it('a ramp whose warmup is too long is one problem, not one per step', () => {
    const problems = problemsOf(valid.replace('warmup: 2s', 'warmup: 30s'))
    expect(problems.filter((p) => p.includes('/load/warmup'))).toHaveLength(1)
  })

  it('reports load and threshold problems even when the target has problems too', () => {
    const problems = problemsOf(
      valid
        .replace('http://127.0.0.1:8080', 'ftp://x')
        .replace('warmup: 2s', 'warmup: 30s')
        .replace('connections: 64', 'connections: 64\n  maxConnections: 9'),
    )
    expect(problems.map((p) => p.split(' ')[1])).toEqual(['/target/url:', '/load/warmup:', '/load/maxConnections:'])
  })

  it('reports every problem at once, in file order', () => {
    const text = valid.replace('POST', 'FETCH').replace('every: 30s', 'every: 30').replace('p99 < 800ms', 'p99 < 800')
    const problems = problemsOf(text)
    expect(problems).toHaveLength(3)
    expect(problems.map((p) => p.split(' ')[1])).toEqual(['/target/method:', '/load/ramp/every:', '/thresholds/0:'])
  })
})
