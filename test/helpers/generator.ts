import { addErrorCounts, emptyErrorCounts, type ErrorCounts, type WindowReport } from '@gauntlet/contracts'
import { LoadGenerator, type ConnectionTarget } from '@gauntlet/agent'
import type { Server as HttpServer } from 'node:http'
import type { Server } from 'node:net'

/** Listens on 127.0.0.1 port 0 and resolves with the port once listening. */
export async function listenOnFreePort(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

/** Closes servers a test started, dropping their connections first so close() cannot hang. */
export async function closeServers(servers: Array<Server | HttpServer>): Promise<void> {
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

export interface GenerateOptions {
  rps: number
  durationS: number
  method?: string
  timeoutMs?: number
  connections?: number
}

export interface Generated {
  windows: WindowReport[]
  errors: ErrorCounts
  ok: number
  sent: number
}

/** Runs the real LoadGenerator (in this thread) against a URL or a loopback port, and totals its windows. */
export async function generate(target: string | number, opts: GenerateOptions): Promise<Generated> {
  const url = new URL(typeof target === 'number' ? `http://127.0.0.1:${target}/` : target)
  const connectionTarget: ConnectionTarget = {
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    method: opts.method ?? 'GET',
    headers: {},
  }
  const windows: WindowReport[] = []
  await new LoadGenerator({
    target: connectionTarget,
    steps: [{ rps: opts.rps, durationS: opts.durationS, step: 0 }],
    timeoutMs: opts.timeoutMs ?? 2000,
    maxConnections: 1000,
    ...(opts.connections ? { connections: opts.connections } : {}),
  }).run({ onWindow: (w) => windows.push(w) })
  const errors = emptyErrorCounts()
  for (const w of windows) addErrorCounts(errors, w.errors)
  return { windows, errors, ok: windows.reduce((n, w) => n + w.ok, 0), sent: windows.reduce((n, w) => n + w.sent, 0) }
}
