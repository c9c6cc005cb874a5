import { toGauntletError } from '@gauntlet/contracts'
import { agentCommand } from './agent-command.js'
import { controllerCommand } from './controller-command.js'
import { faultCommand } from './fault-command.js'
import { processOutput, type Output } from './output.js'
import { runCommand } from './run-command.js'
import { schemaCommand } from './schema-command.js'
import { validateCommand } from './validate-command.js'

const commands: Record<string, (argv: string[], out: Output) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  schema: schemaCommand,
  controller: controllerCommand,
  agent: agentCommand,
  fault: faultCommand,
}

const help = `gauntlet: step-ramped load tests with true percentiles

usage:
  gauntlet run <scenario.yaml> [--summary <out.json>] [--db <file>] [--target <url>] [--controller <url>] [--hook-grace 10s] [--quiet]
  gauntlet validate <scenario.yaml>
  gauntlet schema                      print the scenario JSON Schema
  gauntlet controller [--port 8080] [--host 127.0.0.1] [--db <file>] [--scenarios <dir>] [--agents auto|remote|local]
                                       [--public-url <url>] [--public-read] [--max-runs 4] [--max-run-rps 50000] [--max-run-duration 24h]
                                       [--max-schedules 100] [--min-schedule-interval 1m] [--max-agents 1000] [--max-streams 100] [--hook-grace 10s]
                                       REST API over runs, scenarios, schedules and agents (GAUNTLET_TOKEN guards every /api route;
                                       see docs/security.md)
  gauntlet agent --controller <url> [--port 0] [--host 127.0.0.1] [--name <id>] [--advertise <url>] [--capacity <rps>]
                                       load agent for a controller (GAUNTLET_AGENT_SECRET, required, signs requests both ways)
  gauntlet fault apply <fault.yaml> | list | revert <id>|--all [--controller <url>]
                                       network faults by hand, on this host's Docker engine or a controller's

exit codes: 0 passed, 1 a threshold failed, 2 invalid scenario or usage, 3 the run could not be carried out
add --verbose to any command to see stack traces of internal errors`

/** Runs a command and returns its exit code. Problems print one line each; stacks only with --verbose. */
export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  const verbose = argv.includes('--verbose')
  const args = argv.filter((a) => a !== '--verbose')
  const [name, ...rest] = args
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out.stdout(help)
    return name ? 0 : 2
  }
  const command = commands[name]
  if (!command) {
    out.stderr(`gauntlet: unknown command "${name}"\n\n${help}`)
    return 2
  }
  try {
    return await command(rest, out)
  } catch (thrown) {
    const error = toGauntletError(thrown)
    if (error.problems.length > 0) {
      for (const p of error.problems)
        out.stderr(`${error.source ?? '<input>'}:${p.line ?? 1}:${p.column ?? 1} ${p.path || '/'}: ${p.message}`)
    } else {
      out.stderr(`gauntlet: ${error.message}`)
    }
    if (verbose && error.code === 'internal') out.stderr(String((thrown as Error)?.stack ?? thrown))
    return error.exitCode
  }
}
