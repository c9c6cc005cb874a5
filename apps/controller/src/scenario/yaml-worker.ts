import { GauntletError, type ErrorCode, type Problem } from '@gauntlet/contracts'
import { parentPort } from 'node:worker_threads'
import { LineCounter, parseDocument } from 'yaml'
import { redactScenarioYaml, scenarioSecrets } from '../security/redact.js'
import { parseScenario } from './load-scenario.js'
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

/** A GauntletError as it crosses threads (structured clone keeps no class). */
export interface CarriedError {
  code: ErrorCode
  message: string
  problems: Problem[]
  source: string | undefined
}

/** error null: anything but a GauntletError, whose message stays on this side (500s never leak internals). */
export type YamlReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: CarriedError | null }

function perform(job: YamlJob): unknown {
  switch (job.task) {
    case 'parse':
      // A Scenario is plain data (strings, numbers, arrays, plain objects): it clones as it is.
      return parseScenario(job.yaml, job.file)
    case 'redact':
      return redactScenarioYaml(job.yaml)
    case 'secrets':
      return scenarioSecrets(job.yaml)
    case 'locate': {
      const lines = new LineCounter()
      const locator = new SourceLocator(parseDocument(job.yaml, { lineCounter: lines, prettyErrors: false }), lines)
      return job.problems.map((problem) => ({ ...problem, ...locator.locate(problem.path) }))
    }
  }
}

parentPort?.on('message', (message: YamlJob & { id: number }) => {
  let reply: YamlReply
  try {
    reply = { id: message.id, ok: true, value: perform(message) }
  } catch (error) {
    reply = {
      id: message.id,
      ok: false,
      error:
        error instanceof GauntletError
          ? { code: error.code, message: error.message, problems: error.problems, source: error.source }
          : null,
    }
  }
  parentPort!.postMessage(reply)
})

// Loaded: the pool starts a task's time budget from here, so a fresh thread's module loading never counts.
parentPort?.postMessage({ ready: true })
