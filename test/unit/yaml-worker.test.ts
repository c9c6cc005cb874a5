import { GauntletError } from '@gauntlet/contracts'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { YamlPool } from '../../apps/controller/src/scenario/yaml-pool.js'
import { redactScenarioYaml, scenarioSecrets } from '../../apps/controller/src/security/redact.js'

const bundled = (name: string): string => readFileSync(new URL(`../../scenarios/${name}`, import.meta.url), 'utf8')

const withSecret = `name: private
target:
  url: http://127.0.0.1:8080/
  headers:
    authorization: Bearer s3cr3t-value-123
load:
  steps:
    - { rps: 10, duration: 10s }
`

/** ~1 MiB of commas in a flow sequence: the yaml package takes seconds over it (an error per comma). */
const slow = `name: slow\nx: [${','.repeat(1_000_000)}]\n`

function rejection(promise: Promise<unknown>): Promise<GauntletError> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => {
      expect(error).toBeInstanceOf(GauntletError)
      return error as GauntletError
    },
  )
}

describe('YAML worker pool', () => {
  let pool: YamlPool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it('parses on a thread into the Scenario the loader builds (it survives structured clone)', async () => {
    pool = new YamlPool()
    // weekly-chaos and canary carry faults, hooks and a decision section: the richest Scenarios.
    for (const name of ['weekly-chaos.yaml', 'canary.yaml', 'demo.yaml']) {
      const yaml = bundled(name)
      expect(await pool.parse(yaml, name)).toStrictEqual(parseScenario(yaml, name))
    }
  })

  it(`carries a refusal back as the GauntletError the loader threw: code, message, source, \
problems with line:column`, async () => {
    pool = new YamlPool()
    const invalid =
      'name: bad\ntarget:\n  url: ftp://x\n' +
      'load:\n  steps:\n    - { rps: -1, duration: 1s }\nthresholds: [p99 < banana]\n'
    let expected: GauntletError | undefined
    try {
      parseScenario(invalid, 'bad.yaml')
    } catch (error) {
      expected = error as GauntletError
    }
    const carried = await rejection(pool.parse(invalid, 'bad.yaml'))
    expect(carried.code).toBe('invalid_scenario')
    expect(carried.httpStatus).toBe(400)
    expect(carried.message).toBe(expected!.message)
    expect(carried.source).toBe('bad.yaml')
    expect(carried.problems.length).toBeGreaterThan(1)
    expect(carried.problems).toStrictEqual(expected!.problems)
    expect(carried.problems.every((p) => typeof p.line === 'number' && typeof p.column === 'number')).toBe(true)
  })

  it('redacts and lists secrets as the main-thread functions do', async () => {
    pool = new YamlPool()
    expect(await pool.redact(withSecret)).toBe(redactScenarioYaml(withSecret))
    expect(await pool.secrets(withSecret)).toStrictEqual(scenarioSecrets(withSecret))
    expect(await pool.redact(withSecret)).not.toContain('s3cr3t-value-123')
  })

  it('ends a task over its budget with a clear refusal, and the next task gets a fresh thread', async () => {
    pool = new YamlPool({ budgetMs: 300 })
    const started = performance.now()
    const refused = await rejection(pool.parse(slow, 'slow.yaml'))
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(refused.code).toBe('invalid_scenario')
    expect(refused.message).toBe(
      'slow.yaml: scenario took longer than 0.3s to parse: simplify it (fewer YAML nodes, aliases and nesting levels)',
    )
    expect(refused.problems).toHaveLength(1)
    expect((await pool.parse(bundled('demo.yaml'), 'demo.yaml')).name).toBeTypeOf('string')
    // A stored text too slow to redact is not shown at all; asking again costs nothing (remembered).
    const hidden = await pool.redact(slow)
    expect(hidden).toMatch(/^# «redacted»: /)
    const again = performance.now()
    expect(await pool.redact(slow)).toBe(hidden)
    expect(performance.now() - again).toBeLessThan(100)
  })

  it('refuses beyond its queue with too_many (429) and runs what it accepted', async () => {
    pool = new YamlPool({ threads: 1, queue: 1, budgetMs: 300 })
    const running = pool.parse(slow, 'a')
    const queued = pool.parse(slow, 'b')
    const refused = await rejection(pool.parse(slow, 'c'))
    expect(refused.code).toBe('too_many')
    expect(refused.httpStatus).toBe(429)
    expect((await rejection(running)).code).toBe('invalid_scenario')
    expect((await rejection(queued)).code).toBe('invalid_scenario')
    // The queue drained: it accepts again.
    expect((await pool.parse(bundled('demo.yaml'), 'demo.yaml')).name).toBeTypeOf('string')
  })

  it('memoizes redact and secrets by text: a repeated read costs no task', async () => {
    pool = new YamlPool({ threads: 1, queue: 0 })
    const heavy = `${withSecret}${'#\n'.repeat(200_000)}`
    const first = await pool.redact(heavy)
    // queue 0 and one thread: a second task while one runs would be refused; a remembered answer is not a task.
    const busy = pool.parse(slow, 'busy')
    const started = performance.now()
    expect(await pool.redact(heavy)).toBe(first)
    expect(performance.now() - started).toBeLessThan(50)
    await pool.close()
    await rejection(busy)
  })
})
