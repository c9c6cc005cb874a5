import type { FaultEngine } from '@gauntlet/faults'
import { parseAllowList } from '@gauntlet/http'
import type { FastifyInstance } from 'fastify'
import { join } from 'node:path'
import { AgentRegistry } from '../../apps/controller/src/agents/agent-registry.js'
import { InProcessAgent } from '../../apps/controller/src/agents/in-process-agent.js'
import { tcpTargetProbe } from '../../apps/controller/src/agents/tcp-target-probe.js'
import { RunAdmission } from '../../apps/controller/src/run/run-admission.js'
import { readControllerSettings } from '../../apps/controller/src/config/controller-settings.js'
import { buildApp } from '../../apps/controller/src/http/app.js'
import { RunManager } from '../../apps/controller/src/run/run-manager.js'
import { Scheduler } from '../../apps/controller/src/schedule/scheduler.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { tempDir } from './cli.js'

export interface InProcessController {
  store: SqliteStore
  runs: RunManager
  scheduler: Scheduler
  app: FastifyInstance
  /** Stops the scheduler and the runs, closes the app and the store, in that order. */
  stop: () => Promise<void>
}

/**
 * The controller's app in the test's process, wired as `gauntlet controller` wires it: a SQLite file,
 * the embedded agent, the scheduler, loopback-only targets. Not listening yet; the caller stops it.
 */
export function inProcessController(
  options: { publicRead?: boolean; env?: NodeJS.ProcessEnv; faults?: FaultEngine } = {},
): InProcessController {
  const store = new SqliteStore(join(tempDir(), 'controller.db'))
  const clock = { now: () => new Date() }
  const settings = readControllerSettings(
    { host: '127.0.0.1', ...(options.publicRead ? { 'public-read': true } : {}) },
    options.env ?? {},
  )
  const targetAllow = parseAllowList(undefined, 'GAUNTLET_TARGET_ALLOW')
  const runs = new RunManager(
    {
      store,
      agent: new InProcessAgent(),
      probe: tcpTargetProbe(targetAllow),
      clock,
    },
    // The admission `gauntlet controller` makes from its settings (GAUNTLET_FILES_DIR among them).
    new RunAdmission({ ...settings, ...(options.env ? { env: options.env } : {}) }),
  )
  const scheduler = new Scheduler({ store, runs, clock })
  const app = buildApp({
    store,
    runs,
    scheduler,
    settings,
    agents: new AgentRegistry(),
    ...(options.faults ? { faults: options.faults } : {}),
  })
  const stop = async (): Promise<void> => {
    scheduler.stop()
    await runs.shutdown()
    await app.close()
    store.close()
  }
  return { store, runs, scheduler, app, stop }
}
