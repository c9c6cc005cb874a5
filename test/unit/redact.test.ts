import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import {
  isCredentialHeader,
  redactHeaders,
  redactScenarioYaml,
  redacted,
  scenarioSecrets,
  scrubSecrets,
} from '../../apps/controller/src/security/redact.js'

describe('isCredentialHeader', () => {
  it.each([
    ['authorization', true],
    ['Authorization', true],
    ['proxy-authorization', true],
    ['cookie', true],
    ['Set-Cookie', true],
    ['x-api-key', true],
    ['X-Auth-Token', true],
    ['api-key', true],
    ['x-vault-token', true],
    ['x-client-secret', true],
    ['x-db-password', true],
    ['x-apikey', true],
    ['Ocp-Apim-Subscription-Key', true],
    ['x-functions-key', true],
    ['x-access-key', true],
    ['x-jwt', true],
    ['x-hub-signature-256', true],
    ['x-csrf', true],
    ['x-pwd', true],
    ['bearer', true],
    ['x-hmac', true],
    ['accept', false],
    ['accept-language', false],
    ['cache-control', false],
    ['if-none-match', false],
    ['content-type', false],
    ['x-request-id', false],
    ['user-agent', false],
  ])('%s: %s', (name, credential) => {
    expect(isCredentialHeader(name)).toBe(credential)
  })

  it('redactHeaders keeps the names and the harmless values', () => {
    expect(redactHeaders({ Authorization: 'Bearer abc', accept: 'application/json' })).toEqual({
      Authorization: redacted,
      accept: 'application/json',
    })
  })
})

const scenario = `# orders service
name: orders
target:
  url: http://127.0.0.1:3000/api/orders   # the demo target
  method: POST
  headers:
    Authorization: Bearer s3cr3t-value
    accept: application/json
    cookie: |
      session=cookie-value
    'X-Api-Key': 'key-value-1'
    x-trace: trace-1
  body: '{"user": "tester"}'
load:
  steps:
    - rps: 10
      duration: 5s
thresholds:
  - p99 < 500ms
`

describe('redactScenarioYaml', () => {
  it('replaces each credential value in place and keeps every other line as written', () => {
    const shown = redactScenarioYaml(scenario)
    for (const secret of ['s3cr3t-value', 'cookie-value', 'key-value-1']) expect(shown).not.toContain(secret)
    const before = scenario.split('\n')
    const after = shown.split('\n')
    // The block scalar (two lines) became one line; everything else is identical.
    expect(after).toHaveLength(before.length - 1)
    expect(after.filter((line) => !before.includes(line))).toEqual([
      `    Authorization: "${redacted}"`,
      `    cookie: "${redacted}"`,
      `    'X-Api-Key': "${redacted}"`,
    ])
    const headers = (parse(shown) as { target: { headers: Record<string, string> } }).target.headers
    expect(headers).toEqual({
      Authorization: redacted,
      accept: 'application/json',
      cookie: redacted,
      'X-Api-Key': redacted,
      'x-trace': 'trace-1',
    })
    // Still a valid scenario: redaction never makes a stored scenario unreadable.
    expect(parseScenario(shown, 'shown').target.headers.accept).toBe('application/json')
  })

  it('follows an alias to the anchored value, and hides the value wherever else it is written', () => {
    const text = `name: x
target:
  url: http://127.0.0.1/
  headers:
    x-trace: &t anchored-secret
    x-auth-token: *t
  body: 'anchored-secret'
`
    const shown = redactScenarioYaml(text)
    expect(shown).not.toContain('anchored-secret')
    expect(shown).toContain('x-auth-token: *t')
  })

  it('hides flow-style headers and literal hook secrets, but not secret references', () => {
    const text = `name: x
target: { url: "http://127.0.0.1/", headers: { Proxy-Authorization: "Basic cHJveHk6cHc=", accept: json } }
hooks:
  postRun:
    - url: http://127.0.0.1:9/a
      secret: literal-hook-secret
    - url: http://127.0.0.1:9/b
      secret: \${GAUNTLET_SECRET_HOOK}
`
    const shown = redactScenarioYaml(text)
    expect(shown).not.toContain('cHJveHk6cHc=')
    expect(shown).not.toContain('literal-hook-secret')
    expect(shown).toContain('secret: ${GAUNTLET_SECRET_HOOK}')
    expect(shown).toContain('accept: json')
    expect(scenarioSecrets(text).sort()).toEqual(['Basic cHJveHk6cHc=', 'literal-hook-secret'])
  })

  it('counts credential query parameters of the metrics URL and of every hook URL, aliases included', () => {
    const text = `name: x
target: { url: "http://127.0.0.1/orders?api_key=target-key-1" }
targetMetrics: { url: "http://127.0.0.1/metrics?token=metrics-token-2" }
aliased: &rollback "http://127.0.0.1:9/r?access_token=alias-token-3"
hooks:
  postRun: [ { url: "http://127.0.0.1:9/p?token=hook-token-4&page=2" } ]
  onRollback: [ { url: *rollback } ]
`
    expect(
      scenarioSecrets(text)
        .filter((s) => !s.includes('%'))
        .sort(),
    ).toEqual(['alias-token-3', 'hook-token-4', 'metrics-token-2', 'target-key-1'])
  })

  it('shows nothing of a YAML it cannot parse', () => {
    expect(redactScenarioYaml('target: {headers: {authorization: "Bearer x')).not.toContain('Bearer')
  })
})

describe('scrubSecrets', () => {
  it('replaces secrets inside every string of a nested value, longest first', () => {
    const summary = {
      reasons: ['target said: bad token Bearer s3cr3t-value'],
      steps: [{ note: 'Bearer s3cr3t-value' }],
      count: 3,
      ok: true,
      none: null,
    }
    expect(scrubSecrets(summary, ['s3cr3t', 'Bearer s3cr3t-value'])).toEqual({
      reasons: [`target said: bad token ${redacted}`],
      steps: [{ note: redacted }],
      count: 3,
      ok: true,
      none: null,
    })
  })

  it('leaves text alone when there is nothing (or nothing long enough) to hide', () => {
    expect(scrubSecrets('a b c', [])).toBe('a b c')
    expect(scrubSecrets('a b c', ['b'])).toBe('a b c')
  })
})

describe("credentials in the target URL's query", () => {
  it('are secrets of the scenario, hidden wherever the URL is shown', () => {
    const yaml =
      'name: q\ntarget: { url: "http://127.0.0.1:9/x?api_key=QUERYSECRET1&page=2" }\n' +
      'load: { steps: [{ rps: 1, duration: 1s }] }\n'
    expect(scenarioSecrets(yaml)).toContain('QUERYSECRET1')
    expect(scenarioSecrets(yaml)).not.toContain('2')
    expect(redactScenarioYaml(yaml)).not.toContain('QUERYSECRET1')
    expect(scrubSecrets({ target: 'http://127.0.0.1:9/x?api_key=QUERYSECRET1&page=2' }, scenarioSecrets(yaml))).toEqual(
      { target: `http://127.0.0.1:9/x?api_key=${redacted}&page=2` },
    )
  })
})

describe('target.tls.key', () => {
  const key =
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n'
  const indented = key.trim().replace(/^/gm, '      ')

  it('an inline key is a secret: redacted in place, and scrubbed wherever it appears', () => {
    const yaml = `name: m\ntarget:\n  url: https://x/\n  tls:\n    cert: client.pem\n    key: |\n${indented}\n  timeout: 2s\n`
    const shown = redactScenarioYaml(yaml)
    expect(shown).not.toContain('MIIEvQ')
    expect(shown).toContain(`key: "${redacted}"\n  timeout: 2s`)
    expect(shown).toContain('cert: client.pem')
    expect(scenarioSecrets(yaml)).toEqual([key])
  })

  it('a path to a key is kept as written (the file, not the path, is the secret)', () => {
    const yaml = 'name: m\ntarget:\n  url: https://x/\n  tls: { cert: client.pem, key: ./client.key }\n'
    expect(redactScenarioYaml(yaml)).toContain('key: ./client.key')
    expect(scenarioSecrets(yaml)).toEqual([])
  })
})
