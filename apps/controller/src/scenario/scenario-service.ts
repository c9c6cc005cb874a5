import { GauntletError } from '@gauntlet/contracts'
import { assertScenarioEgressLocated, type ScenarioEgressAllow } from './egress-check.js'
import type { Scenario } from './scenario.js'
import { overrideTarget } from './target-override.js'
import { yamlPool } from './yaml-pool.js'

/** A named scenario as kept: its YAML as sent (runs need its credentials). */
export interface NamedScenario {
  name: string
  yaml: string
  updatedAt: string
}

/** Where named scenarios are kept (the controller's store implements it). */
export interface ScenarioShelf {
  putScenario(scenario: NamedScenario): void
  getScenario(name: string): NamedScenario | undefined
  listScenarios(): NamedScenario[]
  deleteScenario(name: string): boolean
}

/** Where a run's scenario comes from: a stored one by name or inline YAML, and optionally another target URL. */
export interface ScenarioSource {
  scenario?: string | undefined
  yaml?: string | undefined
  target?: string | undefined
}

/**
 * Named scenarios for the API: validated on the way in with the loader `gauntlet validate` uses,
 * shown without their credentials. The YAML work runs on the YAML threads (yaml-pool.ts), so a
 * heavy document never stalls the event loop.
 */
export class ScenarioService {
  constructor(
    private readonly shelf: ScenarioShelf,
    private readonly allow: ScenarioEgressAllow,
  ) {}

  list(): Array<{ name: string; updatedAt: string }> {
    return this.shelf.listScenarios().map(({ name, updatedAt }) => ({ name, updatedAt }))
  }

  /** A stored scenario, its credentials redacted. */
  async get(name: string): Promise<NamedScenario> {
    const scenario = this.shelf.getScenario(name)
    if (!scenario) throw notFound(name)
    return { ...scenario, yaml: await yamlPool().redact(scenario.yaml) }
  }

  /** Validates and stores `yaml` under `name`; returns it redacted, and whether it is new. */
  async put(name: string, yaml: string): Promise<{ scenario: NamedScenario; created: boolean }> {
    const file = `scenario ${name}`
    const scenario = await yamlPool().parse(yaml, file)
    // Its hooks and target-metrics URL must be callable, or it could never run: refused before it is stored.
    await assertScenarioEgressLocated(scenario, this.allow, { yaml, file }, (text, problems) =>
      yamlPool().locate(text, problems),
    )
    if (scenario.name !== name)
      throw new GauntletError(
        'usage',
        `the scenario is named "${scenario.name}" but was sent to /api/scenarios/${name}`,
      )
    const created = this.shelf.getScenario(name) === undefined
    const stored = { name, yaml, updatedAt: new Date().toISOString() }
    this.shelf.putScenario(stored)
    return { scenario: { ...stored, yaml: await yamlPool().redact(yaml) }, created }
  }

  delete(name: string): void {
    if (!this.shelf.deleteScenario(name)) throw notFound(name)
  }

  /** The scenario a run starts from, parsed, with the YAML and source name the run records. */
  async forRun(source: ScenarioSource): Promise<{ scenario: Scenario; yaml: string; source: string }> {
    const { scenario: name, yaml: inline, target } = source
    if ((name === undefined) === (inline === undefined))
      throw new GauntletError('usage', 'give either "scenario" (a stored name) or "yaml" (an inline scenario)')
    const yaml = inline ?? this.shelf.getScenario(name!)?.yaml
    if (yaml === undefined) throw notFound(name!)
    const label = inline !== undefined ? 'yaml' : `scenario ${name}`
    const loaded = await yamlPool().parse(yaml, label)
    return { scenario: target ? overrideTarget(loaded, target, 'target') : loaded, yaml, source: label }
  }
}

function notFound(name: string): GauntletError {
  return new GauntletError('not_found', `no scenario named "${name}"`)
}
