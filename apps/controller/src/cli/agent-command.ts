import { ExitCode, GauntletError } from '@gauntlet/contracts'
import { once } from 'node:events'
import { injectorChoices, type InjectorChoice } from '@gauntlet/faults'
import { startAgent, targetAllowListFromEnv, type DockerAccess } from '@gauntlet/agent'
import { dockerFlag, httpUrlFlag, withOptionalValue, workersFlag } from '../config/flag-values.js'
import { withUsage } from './args.js'
import { defineCommand, parseCommand, printHelp, usageError } from './command-spec.js'
import type { Output } from './output.js'

export const agentSpec = defineCommand({
  name: 'agent',
  summary: 'a load agent for a controller: it registers, heartbeats and runs the load it is assigned',
  synopsis: ['--controller <url> [options]'],
  flags: {
    controller: { type: 'string', value: '<url>', description: 'the controller to register with (required)' },
    port: { type: 'string', value: '<port>', default: '0', description: 'port to listen on (0: any free port)' },
    host: { type: 'string', value: '<address>', default: '127.0.0.1', description: 'address to listen on' },
    name: {
      type: 'string',
      value: '<id>',
      defaultText: '<hostname>-<pid>',
      description: 'name shown by the controller (letters, digits, . _ -; at most 100)',
    },
    advertise: {
      type: 'string',
      value: '<url>',
      defaultText: 'the listen URL; on 0.0.0.0 the first external IPv4',
      description: 'URL the controller reaches this agent at',
    },
    capacity: {
      type: 'string',
      value: '<rps>',
      defaultText: '1000 × CPU cores',
      description: 'requests per second this agent offers (0 < rps <= 1000000)',
    },
    workers: {
      type: 'string',
      value: '<n>',
      defaultText: 'CPU cores - 1, at least 1',
      description:
        'load threads per run (1 to 64): each sends its share of the schedule, interleaved so the sends stay ' +
        'evenly spread, and their windows are merged before they are reported',
    },
    docker: {
      type: 'string',
      value: '[<socket>]',
      defaultText: 'off; without <socket>: DOCKER_HOST, else /var/run/docker.sock',
      description:
        'inject faults with this Docker engine: the controller routes to this agent the faults whose targets ' +
        'run here (the socket is root on this host)',
    },
    injector: {
      type: 'string',
      value: injectorChoices.join('|'),
      defaultText: 'GAUNTLET_FAULT_INJECTOR, else auto',
      description: 'with --docker: holder containers, host processes (root, nsenter), or holders when the image exists',
    },
    'holder-image': {
      type: 'string',
      value: '<image>',
      defaultText: 'GAUNTLET_HOLDER_IMAGE, else gauntlet:local',
      description: 'with --docker: the image fault holders run from',
    },
  },
  env: {
    GAUNTLET_AGENT_SECRET: 'required: the key agent and controller sign every request with (the same on both)',
    GAUNTLET_TARGET_ALLOW: 'hosts this agent may load (default: loopback)',
    GAUNTLET_FAULT_JOURNAL: "with --docker: this host's journal of applied faults (a file)",
    GAUNTLET_FAULT_INJECTOR: 'with --docker: the injector when --injector is not given',
  },
  examples: [
    'GAUNTLET_AGENT_SECRET=... gauntlet agent --controller http://10.0.0.5:8080 --host 0.0.0.0 --capacity 20000',
    'GAUNTLET_AGENT_SECRET=... gauntlet agent --controller http://10.0.0.5:8080 --host 0.0.0.0 --docker',
  ],
  exitCodes: {
    [ExitCode.passed]: 'stopped by SIGINT or SIGTERM after reporting what was measured',
    [ExitCode.invalidInput]: 'usage (a missing or wrong flag, no GAUNTLET_AGENT_SECRET)',
    [ExitCode.couldNotRun]: 'could not start (the port is taken, the controller is unreachable)',
  },
  notes:
    'The agent stops its load, and reverts the faults of runs, when the controller has been silent for 10 s; ' +
    'on SIGINT or SIGTERM it reverts every fault it holds.',
})

/**
 * A load agent: registers with the controller, heartbeats every second, runs the load it is assigned,
 * and stops it when the controller has been silent for 10 s.
 */
export async function agentCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(agentSpec, withOptionalValue(argv, '--docker', ''))
  if (parsed.help) return printHelp(agentSpec, out)
  const { values } = parsed
  if (!values.controller) throw usageError(agentSpec, '--controller <url> is required')
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
  const workers = workersFlag('--workers', values.workers)
  const secret = process.env.GAUNTLET_AGENT_SECRET
  if (!secret)
    throw new GauntletError(
      'usage',
      'refusing to start without GAUNTLET_AGENT_SECRET: the controller and its agents sign every request with ' +
        'it (set the same value on both)',
    )
  const agent = await startAgent({
    controllerUrl,
    host: values.host,
    port,
    allow: withUsage(agentSpec, () => targetAllowListFromEnv()),
    log: (line) => out.stdout(line),
    ...(values.name ? { name: values.name } : {}),
    ...(values.advertise ? { advertiseUrl: httpUrlFlag('--advertise', values.advertise) } : {}),
    ...(capacityRps !== undefined ? { capacityRps } : {}),
    workers,
    ...dockerFlags(values),
    secret,
  })
  out.stdout(`agent ${agent.name} listening ${agent.url} for controller ${controllerUrl}`)
  await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])
  out.stdout('stopping: ending load and reporting what was measured')
  await agent.close()
  return 0
}

/** --docker [socket], --injector and --holder-image: whether and how this agent injects faults. */
function dockerFlags(values: { docker?: string; injector?: string; 'holder-image'?: string }): {
  docker?: DockerAccess
} {
  const flag = values.injector !== undefined
  const injector = (values.injector ?? process.env.GAUNTLET_FAULT_INJECTOR ?? 'auto') as InjectorChoice
  if (!injectorChoices.includes(injector)) {
    const source = flag ? '--injector' : 'GAUNTLET_FAULT_INJECTOR'
    throw new GauntletError('usage', `${source}: "${injector}" is not one of ${injectorChoices.join(', ')}`)
  }
  const docker = dockerFlag('--docker', values.docker)
  if (!docker) {
    if (values['holder-image'] !== undefined || flag)
      throw new GauntletError('usage', '--injector and --holder-image need --docker')
    return {}
  }
  const holderImage = values['holder-image']
  return {
    docker: {
      ...docker,
      injector,
      ...(holderImage ? { holderImage } : {}),
      ...(process.env.GAUNTLET_FAULT_JOURNAL ? { journalFile: process.env.GAUNTLET_FAULT_JOURNAL } : {}),
    },
  }
}
