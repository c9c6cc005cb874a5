import { GauntletError } from '@gauntlet/contracts'
import { execFile } from 'node:child_process'
import type { Command } from './fault-plan.js'

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs commands in a process's network namespace. A port, so the engine can be tested without root. */
export interface Netns {
  run(pid: number, command: Command): Promise<CommandResult>
}

/** nsenter -t <pid> -n: the host's tc/iptables binaries, the container's network namespace. */
export const nsenter: Netns = {
  run: (pid, command) => exec('nsenter', ['-t', String(pid), '-n', ...command]),
}

/**
 * The namespace this process runs in (a holder container shares its target's network namespace), so
 * the pid is ignored: plain tc and iptables, no nsenter and no host pid namespace needed.
 */
export const ownNamespace: Netns = {
  run: (_pid, command) => exec(command[0]!, command.slice(1)),
}

/** Runs a command (no shell) and reports its exit status instead of throwing on a non-zero one. */
export function exec(file: string, args: readonly string[], timeoutMs = 10_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
        // The program itself could not be started (ENOENT: nsenter or tc missing).
        return reject(new GauntletError('unsupported', `cannot run ${file}: ${(error as Error).message}`))
      }
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

/** Runs a command and throws a clear fault_failed error naming it when it exits non-zero. */
export async function mustRun(netns: Netns, pid: number, command: Command): Promise<string> {
  const result = await netns.run(pid, command)
  if (result.code !== 0) {
    throw new GauntletError(
      'fault_failed',
      `\`${command.join(' ')}\` failed in the network namespace of pid ${pid} ` +
        `(exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    )
  }
  return result.stdout
}
