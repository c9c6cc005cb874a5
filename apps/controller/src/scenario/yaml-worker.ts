import type { Problem } from '@gauntlet/contracts'
import { LineCounter, parseDocument } from 'yaml'
import { redactScenarioYaml, scenarioSecrets } from '../security/redact.js'
import { parseDataFile, type DataFormat } from './data-file.js'
import { parseScenario } from './load-scenario.js'
import { serveJobs } from '../threads/job-thread.js'
import { SourceLocator } from './source-locator.js'

/**
 * The thread side of yaml-pool.ts: the YAML work of the controller's request paths, where a heavy
 * document costs this thread seconds and never the event loop. Started from the built JavaScript.
 */
export type YamlJob =
  | { task: 'parse'; yaml: string; file: string }
  | { task: 'redact'; yaml: string }
  | { task: 'secrets'; yaml: string }
  /** Line:column of problems found outside the parser (the egress check). */
  | { task: 'locate'; yaml: string; problems: Problem[] }
  /** A data set's file (CSV or JSON lines): megabytes of text, parsed here and not on the event loop. */
  | { task: 'data'; text: string; format: DataFormat }

function perform(job: YamlJob): unknown {
  switch (job.task) {
    case 'parse':
      // A Scenario is plain data (strings, numbers, arrays, plain objects): it clones as it is.
      return parseScenario(job.yaml, job.file)
    case 'redact':
      return redactScenarioYaml(job.yaml)
    case 'secrets':
      return scenarioSecrets(job.yaml)
    case 'data':
      return parseDataFile(job.text, job.format)
    case 'locate': {
      const lines = new LineCounter()
      const locator = new SourceLocator(parseDocument(job.yaml, { lineCounter: lines, prettyErrors: false }), lines)
      return job.problems.map((problem) => ({ ...problem, ...locator.locate(problem.path) }))
    }
  }
}

serveJobs(perform)
