import { ExitCode, toGauntletError } from '@gauntlet/contracts'
import { agentCommand, agentSpec } from './agent-command.js'
import type { CommandSpec } from './command-spec.js'
import { controllerCommand, controllerSpec } from './controller-command.js'
import { faultCommand, faultSpec } from './fault-command.js'
import { processOutput, type Output } from './output.js'
import { reportCommand, reportSpec } from './report-command.js'
import { runCommand, runSpec } from './run-command.js'
import { schemaCommand, schemaSpec } from './schema-command.js'
import { validateCommand, validateSpec } from './validate-command.js'

interface Command {
  spec: CommandSpec
  execute: (argv: string[], out: Output) => Promise<number>
}

/** Every subcommand, in the order `gauntlet --help` lists them. */
const commands: readonly Command[] = [
  { spec: runSpec, execute: runCommand },
  { spec: reportSpec, execute: reportCommand },
  { spec: validateSpec, execute: validateCommand },
  { spec: schemaSpec, execute: schemaCommand },
  { spec: controllerSpec, execute: controllerCommand },
  { spec: agentSpec, execute: agentCommand },
  { spec: faultSpec, execute: faultCommand },
]

/** `gauntlet --help`: each command's synopsis and summary, from the specs its parser reads. */
function overview(): string {
  const lines = commands.flatMap(({ spec }) => [
    ...spec.synopsis.map((line) => `  gauntlet ${spec.name}${line ? ` ${line}` : ''}`),
    `      ${spec.summary}`,
  ])
  return `gauntlet: step-ramped load tests with true percentiles

usage:
${lines.join('\n')}

  gauntlet <command> --help (or gauntlet help <command>) shows a command's options, defaults and examples.
  Add --verbose to any command to see stack traces of internal errors.

exit codes:
  ${ExitCode.passed}  passed
  ${ExitCode.thresholdFailed}  a threshold failed
  ${ExitCode.invalidInput}  invalid scenario or usage
  ${ExitCode.couldNotRun}  the run could not be carried out`
}

/** Runs a command and returns its exit code. Problems print one line each; stacks only with --verbose. */
export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  const verbose = argv.includes('--verbose')
  const args = argv.filter((a) => a !== '--verbose')
  const [name, ...rest] = args
  if (name === '--help' || name === '-h') {
    out.stdout(overview())
    return ExitCode.passed
  }
  if (name === 'help' && rest.length === 0) {
    out.stdout(overview())
    return ExitCode.passed
  }
  // `gauntlet help run` is `gauntlet run --help`.
  const [commandName, commandArgs] = name === 'help' ? [rest[0], ['--help']] : [name, rest]
  if (!commandName) {
    out.stderr(overview())
    return ExitCode.invalidInput
  }
  const command = commands.find(({ spec }) => spec.name === commandName)
  if (!command) {
    out.stderr(`gauntlet: unknown command "${commandName}" (gauntlet --help lists them)`)
    return ExitCode.invalidInput
  }
  try {
    return await command.execute(commandArgs, out)
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
