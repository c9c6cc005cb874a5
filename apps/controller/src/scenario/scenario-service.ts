import { GauntletError, type Problem } from '@gauntlet/contracts'
import { redacted } from '../security/redact.js'
import { assertScenarioEgressLocated, type ScenarioEgressAllow } from './egress-check.js'
import type { Scenario } from './scenario.js'
import { resolveScenarioFiles } from './scenario-files.js'
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

/** What a valid scenario would run: the answer of POST /api/scenarios/validate. */
export interface ScenarioCheck {
  valid: true
  name: string
  steps: number
  /** Warmup plus every step, in seconds: how long its load lasts. */
  durationS: number
  maxRps: number
  faults: number
  thresholds: number
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
    /** The allow-lists, and --files-dir: where file paths of a scenario (target.tls) may point. */
    private readonly allow: ScenarioEgressAllow & { filesDir?: string },
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
    await this.check(yaml, name)
    const created = this.shelf.getScenario(name) === undefined
    const stored = { name, yaml, updatedAt: new Date().toISOString() }
    this.shelf.putScenario(stored)
    return { scenario: { ...stored, yaml: await yamlPool().redact(yaml) }, created }
  }

  /**
   * Exactly the checks `put` makes, storing nothing (the dashboard's editor asks as the user types).
   * With `name`, the scenario must carry that name, as it must when stored under it.
   */
  async validate(yaml: string, name?: string): Promise<ScenarioCheck> {
    const scenario = await this.check(yaml, name)
    return {
      valid: true,
      name: scenario.name,
      steps: scenario.steps.length,
      durationS: scenario.warmupS + scenario.steps.reduce((sum, step) => sum + step.durationS, 0),
      maxRps: Math.max(0, ...scenario.steps.map((step) => step.rps)),
      faults: scenario.faults.length,
      thresholds: scenario.thresholds.length,
    }
  }

  private async check(yaml: string, name: string | undefined): Promise<Scenario> {
    const file = `scenario ${name ?? '(unsaved)'}`
    const scenario = await yamlPool().parse(yaml, file)
    // Its hooks and target-metrics URL must be callable, or it could never run: refused before it is stored.
    await assertScenarioEgressLocated(scenario, this.allow, { yaml, file }, (text, problems) =>
      yamlPool().locate(text, problems),
    )
    if (name !== undefined && scenario.name !== name) {
      const problems = await yamlPool().locate(yaml, [
        { path: '/name', message: `must be "${name}", the name it is stored under` },
      ])
      throw new GauntletError(
        'usage',
        `the scenario is named "${scenario.name}" but was sent to /api/scenarios/${name}`,
        { problems, source: file },
      )
    }
    await refuseRedactedCredentials(yaml, file)
    // The files it names must be readable (under --files-dir) and parse, or it could never run.
    await resolveScenarioFiles(scenario, { filesDir: this.allow.filesDir }, file, (problems) =>
      yamlPool().locate(yaml, problems),
    )
    return scenario
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

/**
 * A scenario is shown with its credentials replaced by «redacted»; sent back as is (an editor saving
 * what it was shown), the credential would be lost and the target refused. Refused instead, at its line.
 */
async function refuseRedactedCredentials(yaml: string, file: string): Promise<void> {
  // Most texts never mention it (nor its escaped form): no second parse on the YAML threads for them.
  if (!/redacted/i.test(yaml)) return
  if (!(await yamlPool().secrets(yaml)).some((value) => value.includes(redacted))) return
  const problems: Problem[] = []
  yaml.split('\n').forEach((text, i) => {
    const column = text.indexOf(redacted)
    if (column >= 0)
      problems.push({
        path: '',
        message: `a credential reads ${redacted} (stored ones are never shown): write its value again`,
        line: i + 1,
        column: column + 1,
      })
  })
  // Written escaped ("\u00ABredacted\u00BB") it matches no line: said at the top, so it is still a problem.
  if (problems.length === 0)
    problems.push({ path: '', message: `a credential reads ${redacted}: write its value again`, line: 1, column: 1 })
  throw new GauntletError('invalid_scenario', `${file}: ${problems.length} credential(s) still ${redacted}`, {
    problems,
    source: file,
  })
}

function notFound(name: string): GauntletError {
  return new GauntletError('not_found', `no scenario named "${name}"`)
}
