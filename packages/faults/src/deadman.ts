/**
 * A fault's dead man's switch, as its own detached process: sleeps until the fault's end, then runs
 * its revert commands in the target's network namespace. It outlives an agent killed with -9, so no
 * fault outlasts its planned end by more than a moment. Usage: node deadman.js <json>
 * where json = { pid, at (epoch ms), commands: string[][] }. A normal revert kills it first.
 */
import { nsenter } from './netns.js'

const { pid, at, commands } = JSON.parse(process.argv[2] ?? '{}') as { pid: number; at: number; commands: string[][] }

async function revert(): Promise<void> {
  // Failures are expected when the fault is already gone (reverted, or its container restarted).
  for (const command of commands) await nsenter.run(pid, command).catch(() => undefined)
}

setTimeout(() => void revert(), Math.max(0, at - Date.now()))
