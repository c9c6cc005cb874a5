import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface ChildServer {
  url: string
  process: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts a server in its own process (so its event loop is not ours) and resolves once it prints
 * `listening <url>`: readiness is awaited, never slept for.
 */
export async function startChildServer(command: string, args: string[]): Promise<ChildServer> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const match = /listening (\S+)/.exec(line)
      if (match) resolve(match[1]!)
    })
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening: ${stderr}`)))
  })
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await once(child, 'exit')
    },
  }
}

export const demoTargetBin = new URL('../../apps/demo-target/bin/demo-target.js', import.meta.url).pathname

export function startDemoTarget(...flags: string[]): Promise<ChildServer> {
  return startChildServer(process.execPath, [demoTargetBin, ...flags])
}
