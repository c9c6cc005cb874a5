import { GauntletError, hookEvents, type Problem } from '@gauntlet/contracts'
import { normalizeHost, type AllowList } from '@gauntlet/http'
import { LineCounter, parseDocument } from 'yaml'
import type { Scenario } from './scenario.js'
import { SourceLocator } from './source-locator.js'

/** The allow-lists a scenario's own calls out are checked against (the target has its own check). */
export interface ScenarioEgressAllow {
  /** GAUNTLET_TARGET_ALLOW: `targetMetrics.url` is the target's, so it is held to the target's list. */
  targetAllow: AllowList
  /** GAUNTLET_HOOK_ALLOW. */
  hookAllow: AllowList
}

/**
 * Refuses a scenario whose hooks or target-metrics URL name a host outside its allow-list, before
 * anything is stored: GauntletError('forbidden') (403, exit 2) with one problem per offending URL,
 * located in the YAML when it is given. The parser stays pure (no environment); every entry that
 * admits a scenario calls this with the lists it was configured with. The connect-time check on the
 * resolved address is egressRequest's.
 */
export function assertScenarioEgress(
  scenario: Scenario,
  allow: ScenarioEgressAllow,
  source?: { yaml: string; file: string },
): void {
  const offending: Array<{ path: string; url: string; list: AllowList }> = []
  if (scenario.targetMetrics)
    offending.push({ path: '/targetMetrics/url', url: scenario.targetMetrics.url, list: allow.targetAllow })
  for (const event of hookEvents) {
    scenario.hooks[event]?.forEach((hook, i) =>
      offending.push({ path: `/hooks/${event}/${i}/url`, url: hook.url, list: allow.hookAllow }),
    )
  }
  const problems: Problem[] = []
  for (const { path, url, list } of offending) {
    const host = hostOf(url)
    if (host !== undefined && list.allowsHost(host)) continue
    problems.push({ path, message: `host ${host ?? url} is not allowed by ${list.variable} (${list.source})` })
  }
  if (problems.length === 0) return
  const located = source ? locateProblems(problems, source.yaml) : problems
  const where = source ? `${source.file}: ` : ''
  throw new GauntletError(
    'forbidden',
    `${where}${problems.length} URL${problems.length === 1 ? '' : 's'} outside the egress allow-lists`,
    {
      problems: located,
      ...(source ? { source: source.file } : {}),
    },
  )
}

/**
 * Adds line:column to problems from the YAML they are about (it parses the YAML: the controller does it off its event
 * loop).
 */
export type LocateProblems = (yaml: string, problems: Problem[]) => Promise<Problem[]>

/** assertScenarioEgress, with refused URLs located by `locate` instead of a parse on this thread. */
export async function assertScenarioEgressLocated(
  scenario: Scenario,
  allow: ScenarioEgressAllow,
  source: { yaml: string; file: string },
  locate: LocateProblems,
): Promise<void> {
  try {
    assertScenarioEgress(scenario, allow)
  } catch (error) {
    if (!(error instanceof GauntletError) || error.problems.length === 0) throw error
    throw new GauntletError(error.code, `${source.file}: ${error.message}`, {
      problems: await locate(source.yaml, error.problems),
      source: source.file,
    })
  }
}

function hostOf(url: string): string | undefined {
  try {
    return normalizeHost(new URL(url).hostname)
  } catch {
    return undefined
  }
}

/** Adds each problem's line:column, as the parser's own problems have. */
export function locateProblems(problems: Problem[], yaml: string): Problem[] {
  const lines = new LineCounter()
  const doc = parseDocument(yaml, { lineCounter: lines, prettyErrors: false })
  const locator = new SourceLocator(doc, lines)
  return problems.map((problem) => ({ ...problem, ...locator.locate(problem.path) }))
}
