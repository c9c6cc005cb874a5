import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const gauntletBin = new URL('../../apps/controller/bin/gauntlet.js', import.meta.url).pathname

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the real `gauntlet` binary (built by `npm test`'s tsc -b) and collects its output. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [gauntletBin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

export function tempDir(prefix = 'gauntlet-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function writeScenario(dir: string, yaml: string, name = 'scenario.yaml'): string {
  const file = join(dir, name)
  writeFileSync(file, yaml)
  return file
}
