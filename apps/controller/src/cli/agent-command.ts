import { GauntletError } from '@gauntlet/contracts'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { startAgent, targetAllowListFromEnv } from '@gauntlet/agent'
import { httpUrlFlag } from '../config/flag-values.js'
import { withUsage } from './args.js'
import type { Output } from './output.js'

const usage =
  'gauntlet agent --controller <url> [--port 0] [--host 127.0.0.1] [--name <id>] [--advertise <url>] [--capacity <rps>]'

/**
 * A load agent: registers with the controller, heartbeats every second, runs the load it is assigned,
 * and stops it when the controller has been silent for 10 s.
 */
export async function agentCommand(argv: string[], out: Output): Promise<number> {
  const { values } = withUsage(usage, () =>
    parseArgs({
      args: argv,
      options: {
        controller: { type: 'string' },
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        name: { type: 'string' },
        advertise: { type: 'string' },
        capacity: { type: 'string' },
      },
    }),
  )
  if (!values.controller) throw new GauntletError('usage', `--controller <url> is required\nusage: ${usage}`)
  const controllerUrl = httpUrlFlag('--controller', values.controller)
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new GauntletError('usage', `--port: "${values.port}" is not a port number`)
  const capacityRps = values.capacity === undefined ? undefined : Number(values.capacity)
  if (capacityRps !== undefined && !(capacityRps > 0 && capacityRps <= 1_000_000)) {
    throw new GauntletError(
      'usage',
      `--capacity: "${values.capacity}" is not a rate in requests per second (0 < rps <= 1000000)`,
    )
  }
  if (values.name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/.test(values.name)) {
    throw new GauntletError(
      'usage',
      `--name: "${values.name}" must be letters, digits, dot, dash or underscore (at most 100)`,
    )
  }
  const secret = process.env.GAUNTLET_AGENT_SECRET
  if (!secret)
    throw new GauntletError(
      'usage',
      'refusing to start without GAUNTLET_AGENT_SECRET: the controller and its agents sign every request with it (set the same value on both)',
    )
  const agent = await startAgent({
    controllerUrl,
    host: values.host,
    port,
    allow: withUsage(usage, () => targetAllowListFromEnv()),
    log: (line) => out.stdout(line),
    ...(values.name ? { name: values.name } : {}),
    ...(values.advertise ? { advertiseUrl: httpUrlFlag('--advertise', values.advertise) } : {}),
    ...(capacityRps !== undefined ? { capacityRps } : {}),
    secret,
  })
  out.stdout(`agent ${agent.name} listening ${agent.url} for controller ${controllerUrl}`)
  await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])
  out.stdout('stopping: ending load and reporting what was measured')
  await agent.close()
  return 0
}
