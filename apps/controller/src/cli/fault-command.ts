import {
  adhocFault,
  cleanFault,
  holdFault,
  localFaultEngine,
  parseHoldPlan,
  planFromStdin,
  probeHere,
  standbyLimitMs,
  type HolderEvent,
  type FaultReport,
} from '@gauntlet/faults'
import { ExitCode, GauntletError } from '@gauntlet/contracts'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { defineCommand, parseCommand, printHelp, usageError } from './command-spec.js'
import { ControllerClient } from './controller-client.js'
import { injectorFlag } from './injector-flag.js'
import type { Output } from './output.js'

export const faultSpec = defineCommand({
  name: 'fault',
  summary: "network faults by hand, on this host's Docker engine or a controller's",
  synopsis: [
    'apply <fault.yaml> [--controller <url>]',
    'list [--controller <url>]',
    'revert <id> | --all [--controller <url>]',
    'hold <plan-json> | probe | clean <fault-id> [--qdisc]   (inside a holder container)',
  ],
  positionals: true,
  flags: {
    controller: {
      type: 'string',
      value: '<url>',
      defaultText: "this host's Docker engine",
      description: "act on this controller's Docker host (GAUNTLET_TOKEN as its bearer token)",
    },
    all: { type: 'boolean', description: 'revert: every active fault' },
    injector: {
      type: 'string',
      value: 'auto|holder|host',
      defaultText: 'auto (GAUNTLET_FAULT_INJECTOR)',
      description: "holder containers, or this host's nsenter (root); auto: holders when the image exists",
    },
    qdisc: { type: 'boolean', description: "clean: remove Gauntlet's root qdisc too" },
    'state-dir': {
      type: 'string',
      value: '<dir>',
      defaultText: '~/.gauntlet, or /var/lib/gauntlet as root',
      description: 'keep the local fault journal in <dir>/faults.jsonl',
    },
  },
  env: {
    GAUNTLET_TOKEN: "the controller's bearer token (with --controller)",
    GAUNTLET_FAULT_JOURNAL: "this host's journal of applied faults (a file; --state-dir wins)",
    GAUNTLET_FAULT_INJECTOR: 'auto, holder or host (--injector wins)',
    GAUNTLET_HOLDER_IMAGE: 'the image holder containers run (default gauntlet:local)',
  },
  examples: ['gauntlet fault apply latency.yaml', 'gauntlet fault list', 'gauntlet fault revert --all'],
  exitCodes: {
    [ExitCode.passed]: 'done',
    [ExitCode.invalidInput]: 'usage, or an invalid fault file',
    [ExitCode.couldNotRun]: 'the fault could not be applied or reverted (no Docker engine, controller unreachable)',
  },
  notes:
    'apply returns once the fault is in place and leaves it to its own expiry, which holds after this command exits.',
})

/**
 * Faults by hand. With --controller, on that controller's Docker host; without, on this host's Docker
 * engine: `apply` returns once the fault is in place and leaves it to its own expiry (iptables time
 * match, a detached dead man's switch), so it ends on time even though this command has exited.
 */
export async function faultCommand(argv: string[], out: Output): Promise<number> {
  const parsed = parseCommand(faultSpec, argv)
  if (parsed.help) return printHelp(faultSpec, out)
  const { values, positionals } = parsed
  const [action, arg] = positionals
  // Inside a holder container: no engine, no journal, no recovery; only this namespace.
  if (action === 'hold' || action === 'probe' || action === 'clean') return holderAction(action, arg, values.qdisc, out)
  const client = values.controller
    ? new ControllerClient(values.controller, process.env.GAUNTLET_TOKEN || undefined)
    : undefined
  // The journal is per host (GAUNTLET_FAULT_JOURNAL, or --state-dir for a separate one).
  const engine = client
    ? undefined
    : localFaultEngine({
        ...(values['state-dir'] ? { journalFile: join(values['state-dir'], 'faults.jsonl') } : {}),
        ...(values.injector ? { injector: injectorFlag(values.injector) } : {}),
        log: (line) => out.stderr(line),
      })
  // Locally, whatever a dead process left behind is reverted before anything else.
  await engine?.recover()
  switch (action) {
    case 'apply': {
      if (!arg) throw usageError(faultSpec, 'fault apply needs a fault file')
      const doc: unknown = parse(
        await readFile(arg, 'utf8').catch(() => Promise.reject(new GauntletError('usage', `cannot read ${arg}`))),
      )
      const report = client
        ? await client.faults('POST', '', doc)
        : await engine!.apply(adhocFault(doc), undefined, { detached: true })
      out.stdout(describe(report as FaultReport))
      return 0
    }
    case 'list': {
      const reports = (client ? await client.faults('GET', '') : await engine!.list()) as FaultReport[]
      if (reports.length === 0) out.stdout('no active faults')
      for (const report of reports) out.stdout(describe(report))
      return 0
    }
    case 'revert': {
      if (!arg && !values.all) throw usageError(faultSpec, 'fault revert needs an id or --all')
      const ids = arg
        ? [arg]
        : ((client ? await client.faults('GET', '') : await engine!.list()) as FaultReport[]).map((r) => r.id)
      for (const id of ids) {
        const report = (
          client
            ? await client.faults('DELETE', `/${encodeURIComponent(id)}`)
            : await engine!.revert(id, 'reverted by hand')
        ) as FaultReport
        out.stdout(describe(report))
      }
      if (ids.length === 0) out.stdout('no active faults')
      return 0
    }
    default:
      throw usageError(faultSpec, `unknown fault action "${action ?? ''}"`)
  }
}

/** `gauntlet fault hold|probe|clean`: what a holder container runs in its target's network namespace. */
async function holderAction(
  action: 'hold' | 'probe' | 'clean',
  arg: string | undefined,
  qdisc: boolean | undefined,
  out: Output,
): Promise<number> {
  if (action === 'probe') {
    out.stdout(await probeHere())
    return 0
  }
  if (!arg) throw usageError(faultSpec, `fault ${action} needs ${action === 'hold' ? 'a plan (JSON)' : 'a fault id'}`)
  const emit = (event: HolderEvent): void => out.stdout(JSON.stringify(event))
  if (action === 'hold' && arg === '-') {
    // Warm: the plan comes on stdin when the fault is applied (or never: then nothing was held).
    const plan = await planFromStdin(standbyLimitMs)
    return plan ? holdFault(plan, emit) : 0
  }
  if (action === 'hold') return holdFault(parseHoldPlan(arg), emit)
  const result = await cleanFault(arg, qdisc === true)
  out.stdout(JSON.stringify(result))
  return result.verified ? 0 : ExitCode.couldNotRun
}

function describe(report: FaultReport): string {
  const state = report.revertedAt
    ? `reverted ${report.revertedAt}${report.revertVerified ? ', read back clean' : ', NOT clean'}`
    : `until ${report.untilAt}`
  return `${report.id}  ${report.type} via ${report.mechanism} on ${report.targets.join(', ')}  ${state}`
}
