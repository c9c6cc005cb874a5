import { runLoadInWorker, type ConnectionTarget } from '@gauntlet/agent'
import type { LoadAgent } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'

/**
 * Runs the load in this process, on a worker thread: the embedded default of `gauntlet run`.
 * The thread keeps storage and printing on the main loop from delaying sends.
 */
export class InProcessAgent implements LoadAgent {
  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): ReturnType<LoadAgent['run']> {
    return runLoadInWorker(
      {
        target: connectionTarget(scenario),
        steps: scenario.steps,
        timeoutMs: scenario.target.timeoutMs,
        ...(scenario.connections !== undefined ? { connections: scenario.connections } : {}),
        maxConnections: scenario.maxConnections,
      },
      options,
    )
  }
}

export function connectionTarget(scenario: Scenario): ConnectionTarget {
  const url = new URL(scenario.target.url)
  const https = url.protocol === 'https:'
  return {
    protocol: https ? 'https:' : 'http:',
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : https ? 443 : 80,
    path: `${url.pathname}${url.search}`,
    method: scenario.target.method,
    // url.host keeps IPv6 brackets and the port; a Host the scenario sets wins (checked case-insensitively).
    headers: Object.keys(scenario.target.headers).some((name) => name.toLowerCase() === 'host')
      ? scenario.target.headers
      : { host: url.host, ...scenario.target.headers },
    ...(scenario.target.body !== undefined ? { body: scenario.target.body } : {}),
  }
}
