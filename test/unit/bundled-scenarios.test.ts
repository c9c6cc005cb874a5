import { ScenarioSchema } from '@gauntlet/contracts'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenarioFile } from '../../apps/controller/src/scenario/load-scenario.js'

const dir = new URL('../../scenarios/', import.meta.url).pathname
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))

describe('bundled scenarios', () => {
  it('there are some', () => expect(files.length).toBeGreaterThanOrEqual(3))

  it.each(files)('%s loads with the loader users run', async (file) => {
    const { scenario } = await loadScenarioFile(join(dir, file))
    expect(scenario.steps.length).toBeGreaterThan(0)
  })

  it('the published JSON Schema is generated from the current source (run `npm run schema`)', () => {
    const published = JSON.parse(readFileSync(join(dir, 'scenario.schema.json'), 'utf8')) as unknown
    expect(published).toEqual(
      JSON.parse(JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ScenarioSchema })),
    )
  })
})
