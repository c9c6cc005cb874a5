import { GauntletError } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { controllerEnv, resolveRunInputs, type InputSources } from '../../apps/controller/src/scenario/run-inputs.js'

const scenario = (requests: string, data = ''): ReturnType<typeof parseScenario> =>
  parseScenario(`name: inputs
target: { url: "http://127.0.0.1:8080", headers: { authorization: "Bearer \${env.API_TOKEN}" } }
${data}requests:
${requests}
load: { steps: [{ rps: 10, duration: 2s }] }
`)

const files: Record<string, string> = {
  './skus.csv': 'sku,name\nA1,Apple\nB2,"Banana, ripe"\n',
  './bad.csv': 'sku,name\nA1\n',
  './multi.csv': 'sku,note\nA1,"two\nlines"\n',
  './order.json': '{"sku":"{{ data.skus.sku }}","by":"${env.USER_ID}"}',
  './client.key': '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
  './key.csv': '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAbc\n-----END EC PRIVATE KEY-----\n',
  './unclosed.json': '{"id":"{{ uuid"}',
  './undefined-set.json': '{"u":"{{ data.users.id }}"}',
}
const sources = (env: Record<string, string>): InputSources => ({
  env: (name) => env[name],
  readText: (file) => {
    const text = files[file]
    if (text === undefined) return Promise.reject(new GauntletError('usage', `${file}: no such file`))
    return Promise.resolve(text)
  },
})

const problemsOf = async (promise: Promise<unknown>): Promise<string[]> => {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(GauntletError)
    expect((error as GauntletError).code).toBe('invalid_scenario')
    return (error as GauntletError).problems.map((p) => `${p.path}: ${p.message}`)
  }
  throw new Error('expected the inputs to be refused')
}

describe('resolveRunInputs', () => {
  it('substitutes env values, reads body files and data sets, and keeps the values to scrub', async () => {
    const inputs = await resolveRunInputs(
      scenario(
        '  - { name: order, method: POST, path: "/orders/{{ seq }}", bodyFile: ./order.json }',
        'data:\n  skus: { file: ./skus.csv, order: unique }\n',
      ),
      sources({ API_TOKEN: 's3cret {{x}}', USER_ID: 'u-7' }),
    )
    expect(inputs.requests).toEqual([
      {
        name: 'order',
        weight: 1,
        method: 'POST',
        path: '/orders/{{ seq }}',
        // A value's "{{" stays literal: the agent's template parser reads "{{{{" as "{{".
        headers: { authorization: 'Bearer s3cret {{{{x}}' },
        body: '{"sku":"{{ data.skus.sku }}","by":"u-7"}',
      },
    ])
    expect(inputs.data).toEqual({
      skus: {
        columns: ['sku', 'name'],
        rows: [
          ['A1', 'Apple'],
          ['B2', 'Banana, ripe'],
        ],
        order: 'unique',
      },
    })
    expect(inputs.secrets.sort()).toEqual(['s3cret {{x}}', 'u-7'])
  })

  it('names every problem at once: an unset variable, a missing file, a bad data file, a column it lacks', async () => {
    const problems = await problemsOf(
      resolveRunInputs(
        scenario(
          [
            '  - { name: a, path: "/x/{{ data.skus.price }}" }',
            '  - { name: b, path: /y, bodyFile: ./missing.json }',
            '  - { name: c, path: /z, headers: { x-note: "{{ data.multi.note }}" } }',
          ].join('\n'),
          'data:\n  skus: { file: ./skus.csv }\n  broken: { file: ./bad.csv }\n  multi: { file: ./multi.csv }\n',
        ),
        sources({}),
      ),
    )
    expect(problems).toEqual([
      '/data/broken/file: ./bad.csv: line 2: 1 field, the header has 2',
      '/requests/0/headers/authorization: ${env.API_TOKEN}: the variable API_TOKEN is not set (it is never sent literally)',
      '/requests/0/path: data set skus has no column "price" (its columns: sku, name)',
      '/requests/1/headers/authorization: ${env.API_TOKEN}: the variable API_TOKEN is not set (it is never sent literally)',
      '/requests/1/bodyFile: ./missing.json: no such file',
      '/requests/2/headers/authorization: ${env.API_TOKEN}: the variable API_TOKEN is not set (it is never sent literally)',
      '/requests/2/headers/x-note: data set multi, row 1: column "note" holds a line break, which a header cannot',
    ])
  })

  it("gives the controller's runs only GAUNTLET_REQUEST_* variables, and refuses a line break in a header", async () => {
    const env = { API_TOKEN: 'x', GAUNTLET_TOKEN: 'api-token', GAUNTLET_REQUEST_API: 'a\r\nX-Evil: 1' }
    const controller: InputSources = { ...sources(env), env: controllerEnv(env) }
    expect(await problemsOf(resolveRunInputs(scenario('  - { name: a, path: /x }'), controller))).toEqual([
      '/requests/0/headers/authorization: ${env.API_TOKEN}: the controller gives runs only variables named ' +
        'GAUNTLET_REQUEST_* (set GAUNTLET_REQUEST_API_TOKEN on the controller and write ${env.GAUNTLET_REQUEST_API_TOKEN})',
    ])
    const injected = parseScenario(`name: i
target: { url: "http://127.0.0.1:8080/", headers: { authorization: "\${env.GAUNTLET_REQUEST_API}" } }
load: { steps: [{ rps: 1, duration: 1s }] }
`)
    expect(await problemsOf(resolveRunInputs(injected, controller))).toEqual([
      '/target/headers/authorization: ${env.GAUNTLET_REQUEST_API}: its value holds a line break',
    ])
  })

  it('never sends a private key as a body or data, and refuses a body file whose templates do not hold', async () => {
    const problems = await problemsOf(
      resolveRunInputs(
        scenario(
          [
            '  - { name: a, method: POST, path: /a, bodyFile: ./client.key }',
            '  - { name: b, method: POST, path: /b, bodyFile: ./unclosed.json }',
            '  - { name: c, method: POST, path: /c, bodyFile: ./undefined-set.json }',
          ].join('\n'),
          'data:\n  keys: { file: ./key.csv }\n',
        ),
        sources({ API_TOKEN: 't' }),
      ),
    )
    expect(problems).toEqual([
      '/data/keys/file: "./key.csv" holds a private key: it is never sent as data or a body',
      '/requests/0/bodyFile: "./client.key" holds a private key: it is never sent as data or a body',
      '/requests/1/bodyFile: "{{" at character 8 is never closed with "}}" (a literal "{{" is "{{{{")',
      '/requests/2/bodyFile: {{ data.users.* }} reads a data set that is not defined under data:',
    ])
  })

  it('refuses an env value that would open or close a template with the text around it', async () => {
    const braces = parseScenario(`name: b
target: { url: "http://127.0.0.1:8080/", method: POST, body: '{\${env.PART}}' }
load: { steps: [{ rps: 1, duration: 1s }] }
`)
    expect(await problemsOf(resolveRunInputs(braces, sources({ PART: '{ uuid }' })))).toEqual([
      '/target/body: the value of ${env.PART} would change the templates around it ({{ }}): keep braces out of it, or apart',
    ])
    // A value holding "{{" on its own is sent as it is.
    const inputs = await resolveRunInputs(braces, sources({ PART: 'a{{b' }))
    expect(inputs.requests[0]!.body).toBe('{a{{{{b}')
  })

  it("counts the run's data and body files against one budget", async () => {
    const big = 'x'.repeat(20 * 1024 * 1024)
    const many: InputSources = { ...sources({ API_TOKEN: 't' }), readText: () => Promise.resolve(big) }
    const problems = await problemsOf(
      resolveRunInputs(
        scenario(
          '  - { name: a, method: POST, path: /a, bodyFile: ./one.json }\n  - { name: b, method: POST, path: /b, bodyFile: ./two.json }',
        ),
        many,
      ),
    )
    expect(problems).toEqual(["/requests/1/bodyFile: the run's data sets and body files come to more than 32 MiB"])
  })
})
