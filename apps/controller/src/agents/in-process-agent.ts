import {
  connectionTargetFor,
  defaultWorkers,
  requestPlanOf,
  responseExpectationFor,
  startLoadInWorkers,
} from '@gauntlet/agent/generator'
import { scenarioPlan } from '@gauntlet/contracts'
import { availableParallelism } from 'node:os'
import type { LoadAgent } from '../run/ports.js'
import type { Scenario } from '../scenario/scenario.js'
import { requestWire, targetWire } from './request-wire.js'

/**
 * Runs the load in this process, on worker threads (`workers`, as `gauntlet agent --workers`): the
 * embedded default of `gauntlet run`. The threads keep storage and printing on the main loop from
 * delaying sends.
 */
export class InProcessAgent implements LoadAgent {
  constructor(private readonly workers = defaultWorkers(availableParallelism())) {}

  async run(scenario: Scenario, options: Parameters<LoadAgent['run']>[1]): ReturnType<LoadAgent['run']> {
    const expect = responseExpectationFor(scenario.target)
    const run = startLoadInWorkers(
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
      this.workers,
    )
    options.onControl?.({ reconnect: () => run.reconnect(), replan: (fromS, tail) => run.replan(fromS, tail) })
    return run.result
  }
}
