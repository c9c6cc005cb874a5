import { ExitCode, toGauntletError } from '@gauntlet/contracts'
import type { CommandSpec } from './command-spec.js'
import { processOutput, type Output } from './output.js'

interface Command {
  spec: CommandSpec
  execute: (argv: string[], out: Output) => Promise<number>
}

/**
 * Every subcommand, in the order `gauntlet --help` lists them. Each is loaded only when it runs: a
 * `gauntlet run` has no use for the controller's HTTP server or the agent's, and loading every command
 * was most of its start-up CPU.
 */
const commands: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => {
    const { runSpec, runCommand } = await import('./run-command.js')
    return { spec: runSpec, execute: runCommand }
  },
  report: async () => {
    const { reportSpec, reportCommand } = await import('./report-command.js')
    return { spec: reportSpec, execute: reportCommand }
  },
  validate: async () => {
    const { validateSpec, validateCommand } = await import('./validate-command.js')
    return { spec: validateSpec, execute: validateCommand }
  },
  schema: async () => {
    const { schemaSpec, schemaCommand } = await import('./schema-command.js')
    return { spec: schemaSpec, execute: schemaCommand }
  },
  controller: async () => {
    const { controllerSpec, controllerCommand } = await import('./controller-command.js')
    return { spec: controllerSpec, execute: controllerCommand }
  },
  agent: async () => {
    const { agentSpec, agentCommand } = await import('./agent-command.js')
    return { spec: agentSpec, execute: agentCommand }
  },
  fault: async () => {
    const { faultSpec, faultCommand } = await import('./fault-command.js')
    return { spec: faultSpec, execute: faultCommand }
  },
}

/** `gauntlet --help`: each command's synopsis and summary, from the specs its parser reads. */
async function overview(): Promise<string> {
  // A command that cannot load here (a native module missing from an image) is named, not fatal to --help.
  const all = await Promise.allSettled(Object.values(commands).map((load) => load()))
  const lines = all.flatMap((loaded, i) =>
    loaded.status === 'fulfilled'
      ? [
          ...loaded.value.spec.synopsis.map((line) => `  gauntlet ${loaded.value.spec.name}${line ? ` ${line}` : ''}`),
          `      ${loaded.value.spec.summary}`,
        ]
      : [`  gauntlet ${Object.keys(commands)[i]}`, `      (cannot load here: ${String(loaded.reason)})`],
  )
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
    out.stdout(await overview())
    return ExitCode.passed
  }
  if (name === 'help' && rest.length === 0) {
    out.stdout(await overview())
    return ExitCode.passed
  }
  // `gauntlet help run` is `gauntlet run --help`.
  const [commandName, commandArgs] = name === 'help' ? [rest[0], ['--help']] : [name, rest]
  if (!commandName) {
    out.stderr(await overview())
    return ExitCode.invalidInput
  }
  const load = Object.hasOwn(commands, commandName) ? commands[commandName] : undefined
  if (!load) {
    out.stderr(`gauntlet: unknown command "${commandName}" (gauntlet --help lists them)`)
    return ExitCode.invalidInput
  }
  try {
    return await (await load()).execute(commandArgs, out)
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
