import { connectionTargetFor, responseExpectationFor, startLoadInWorker } from '@gauntlet/agent'
import { scenarioPlan } from '@gauntlet/contracts'
import type { LoadAgent } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'

/**
 * Runs the load in this process, on a worker thread: the embedded default of `gauntlet run`.
 * The thread keeps storage and printing on the main loop from delaying sends.
 */
export class InProcessAgent implements LoadAgent {
  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): ReturnType<LoadAgent['run']> {
    const expect = responseExpectationFor(scenario.target)
    const run = startLoadInWorker(
      {
        target: connectionTargetFor(scenario.target),
        steps: scenarioPlan(scenario),
        timeoutMs: scenario.target.timeoutMs,
        ...(expect !== undefined ? { expect } : {}),
        ...(scenario.connections !== undefined ? { connections: scenario.connections } : {}),
        maxConnections: scenario.maxConnections,
      },
      options,
    )
    options.onControl?.({ reconnect: () => run.reconnect(), replan: (fromS, tail) => run.replan(fromS, tail) })
    return run.result
  }
}
