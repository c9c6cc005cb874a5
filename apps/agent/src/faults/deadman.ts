/**
 * A fault's dead man's switch, as its own detached process: sleeps until the fault's end, then runs
 * its revert commands in the target's network namespace. It outlives an agent killed with -9, so no
 * fault outlasts its planned end by more than a moment. Usage: node deadman.js <json>
 * where json = { pid, at (epoch ms), commands: string[][] }. A normal revert kills it first.
 */
import { execFile } from 'node:child_process'

const { pid, at, commands } = JSON.parse(process.argv[2] ?? '{}') as { pid: number; at: number; commands: string[][] }

function run(index: number): void {
  const command = commands[index]
  if (!command) return
  // Failures are expected when the fault is already gone (reverted, or its container restarted).
  execFile('nsenter', ['-t', String(pid), '-n', ...command], () => run(index + 1))
}

setTimeout(() => run(0), Math.max(0, at - Date.now()))
