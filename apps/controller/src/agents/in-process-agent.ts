import { connectionTargetFor, requestPlanOf, responseExpectationFor, startLoadInWorker } from '@gauntlet/agent/generator'
import { scenarioPlan } from '@gauntlet/contracts'
import type { LoadAgent } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'
import { requestWire, targetWire } from './request-wire.js'

/**
 * Runs the load in this process, on a worker thread: the embedded default of `gauntlet run`.
 * The thread keeps storage and printing on the main loop from delaying sends.
 */
export class InProcessAgent implements LoadAgent {
  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): ReturnType<LoadAgent['run']> {
    const expect = responseExpectationFor(scenario.target)
    const run = startLoadInWorker(
      {
        target: connectionTargetFor({
          ...targetWire(scenario),
          method: scenario.target.method,
          ...(scenario.target.tls ? { tls: scenario.target.tls } : {}),
        }),
        steps: scenarioPlan(scenario),
        timeoutMs: scenario.target.timeoutMs,
        ...(expect !== undefined ? { expect } : {}),
        ...requestPlanOf(requestWire(scenario), scenario.target.followRedirects),
        ...(scenario.connections !== undefined ? { connections: scenario.connections } : {}),
        maxConnections: scenario.maxConnections,
      },
      options,
    )
    options.onControl?.({ reconnect: () => run.reconnect(), replan: (fromS, tail) => run.replan(fromS, tail) })
    return run.result
  }
}
